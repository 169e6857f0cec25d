"""The live floor in Redis: apply callbacks, read conferences, read the change feed.

One `LiveFloor` per process, over the process's one Redis client. Every write
is one Lua script call (one round trip, atomic), so any number of callback
workers and instances on one Redis reach exactly the state one would.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson

from core.documents import (
    Card,
    Conference,
    Monitor,
    Stored,
    card_of,
    conference_of,
    monitor_of,
)
from core.keys import Keys
from core.redis_client import AsyncRedis
from core.times import now_ms as now_ms
from core.times import text as text
from live.batching import BatchedScript
from live.events import ConferenceEvent
from live.late import LEFT_SECONDS
from live.model import (
    AlertClock,
    Json,
    Thresholds,
    decoded_json,
    limits_for,
    mark_duplicates,
    render_with_clock,
    role_of,
    unreadable,
)
from live.roster import Roster
from live.scripts import FEED_ENTRY, script
from live.timeline import TimelineEntry, entry_of

APPLY_LUA = script("apply.lua")
MONITOR_LUA = script("monitor.lua")
# Reading the whole floor yields to the event loop every this many conferences.
YIELD_EVERY = 200
# Conferences whose unreadable document is logged (once each); past this, quietly flagged.
MAX_UNREADABLE_REPORTED = 1000

log = logging.getLogger("earpiece.live")

# A feed entry's kind -> the SSE event it is sent as.
FEED_EVENTS = {
    "conference": "conference",
    "ended": "conference-ended",
    "card": "card",
    "queue": "queue",
    "agent": "agent",
    "transcript": "transcript",
}

# Announce a conference as it is now (the alert ticker): read and append in one
# script, so the entry can never carry an older document than the feed already has.
ANNOUNCE_LUA = (
    FEED_ENTRY
    + """
local out = 0
for i = 2, #KEYS do
  local doc = redis.call('GET', KEYS[i])
  if doc then
    local c = cjson.decode(doc)
    if c.status ~= 'completed' then
      feed_add(KEYS[1], ARGV[1], 'conference', c.sid, doc)
      out = out + 1
    end
  end
end
return out
"""
)
REPAIR_LUA = script("repair.lua")
# Where the feed stands, for a reader that keeps the floor from it (live/board_hub.py):
# KEYS[1] the feed, KEYS[2] the live index, KEYS[3] the reader's mark (a key it set when
# it read the floor whole); ARGV[1] the newest id the reader was given, ARGV[2] seconds
# the mark lives on. Returns {first id, last id ever added, entries ever added up to
# ARGV[1] (-1 where Redis does not count them, before 7.0), live calls, 1 if the mark is
# still there}; ids are "" when there is no feed (Redis was reset, or nothing was ever
# written). The count is what makes a gap certain: it moves by exactly what the reader
# was given, unless entries were trimmed unread or the feed began again; the mark, that
# Redis lost its data (a reset) even when the reader has gone on reading a new feed.
FEED_PROBE_LUA = """
local first, last, added = '', '', -1
local info = redis.pcall('XINFO', 'STREAM', KEYS[1])
if type(info) == 'table' and not info.err then
  for i = 1, #info, 2 do
    local name, value = info[i], info[i + 1]
    if name == 'last-generated-id' then last = value end
    if name == 'entries-added' then added = value end
    if name == 'first-entry' and type(value) == 'table' then first = value[1] end
  end
  if added >= 0 then
    added = added - #redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+')
  end
end
return {first, last, added, redis.call('ZCARD', KEYS[2]), redis.call('EXPIRE', KEYS[3], ARGV[2])}
"""


@dataclass(frozen=True, slots=True)
class ApplyResult:
    outcome: str  # applied | unchanged | duplicate | stale
    feed_id: str | None
    # The supervisors on the conference after this event (as it ended, for an end; 0 for a
    # duplicate or a stale event): the coach records each one's leave at an end, turns a
    # whisper back to listen when the agent leaves, and reads nothing when there are none.
    monitors: int = 0


@dataclass(frozen=True, slots=True)
class MonitorResult:
    result: str  # ok | unknown | ended | elsewhere | exists | whisper-taken | absent | other-leg
    detail: str  # the other conference, the whisperer, the displaced supervisor or the old mode
    # What the script answered beside: a monitor as stored (a card, for the `card` operation)
    stored: Stored | None

    @property
    def monitor(self) -> Monitor | None:
        return monitor_of(self.stored) if self.stored is not None else None

    @property
    def card(self) -> Card | None:
        return card_of(self.stored) if self.stored is not None else None


@dataclass(frozen=True, slots=True)
class RepairResult:
    result: str  # repaired | unchanged | busy (a callback came first) | ended
    repairs: dict[str, int]  # kind -> count


class FeedEntry:
    """One change on the feed: `conference` (whole JSON) or `conference-ended` ({"sid"}).

    Its document is decoded when first asked for: a board pass keeps only each call's
    newest document of a read (`BoardHub._apply`), and a call that speaks sends several a
    read, so decoding each on arrival (10% of the service's CPU under a callback load, a
    third of it decoding documents no one looked at) is work for nothing."""

    __slots__ = ("_doc", "_raw", "event", "id", "sid")

    def __init__(self, id: str, event: str, sid: str, raw: bytes) -> None:
        self.id, self.event, self.sid = id, event, sid
        self._raw = raw
        self._doc: dict[str, Any] | None = None

    @property
    def doc(self) -> dict[str, Any]:
        if self._doc is None:
            self._doc = orjson.loads(self._raw)
        return self._doc

    def __repr__(self) -> str:
        return f"FeedEntry({self.id!r}, {self.event!r}, {self.sid!r})"


class LiveFloor:
    def __init__(
        self,
        redis: AsyncRedis,
        *,
        namespace: str,
        roster: Roster,
        thresholds: Thresholds | None = None,
        feed_maxlen: int = 20_000,
        history_seconds: int = 24 * 3600,
        left_seconds: int = LEFT_SECONDS,
    ) -> None:
        self.redis = redis
        self.keys = Keys(namespace)
        self.roster = roster
        self.thresholds = thresholds or Thresholds()
        self._limits: dict[str | None, Thresholds] = {}
        self._follows: tuple[float, dict[str, str]] | None = None
        self.feed_maxlen = feed_maxlen
        self.history_seconds = history_seconds
        self.left_seconds = left_seconds
        self._monitor = redis.register_script(MONITOR_LUA)
        self._repair = redis.register_script(REPAIR_LUA)
        self._announce = redis.register_script(ANNOUNCE_LUA)
        self._probe = redis.register_script(FEED_PROBE_LUA)
        # sid -> (document bytes, its rendering without alerts, its alert clock)
        self._rendered: dict[str, tuple[bytes, Json, AlertClock | None]] = {}
        self._unreadable: set[str] = set()
        self._apply = BatchedScript(
            redis,
            APPLY_LUA,
            shared_keys=[
                self.keys.live,
                self.keys.calls,
                self.keys.feed,
                self.keys.supervisors,
                self.keys.legs,
                self.keys.dialing,
                self.keys.ended,
                self.keys.left,
                self.keys.left_until,
            ],
            shared_args=[feed_maxlen, history_seconds, left_seconds],
            width=3,
        )

    # -- write -------------------------------------------------------------

    async def apply(self, event: ConferenceEvent) -> ApplyResult:
        sid = event.conference_sid
        k = self.keys
        outcome, feed_id, monitors = await self._apply(
            [k.conference(sid), k.seen(sid), k.tokens(sid), k.timeline(sid)],
            event.script_args(),
        )
        fid = text(feed_id)
        return ApplyResult(outcome=text(outcome), feed_id=fid or None, monitors=int(monitors))

    async def monitor_op(self, op: str, sid: str, **args: Any) -> MonitorResult:
        """One monitor operation (live/monitor.lua): claim, attach, connected, mode, remove."""
        k = self.keys
        args.setdefault("now", now_ms())
        reply: Any = await self._monitor(
            keys=[k.conference(sid), k.feed, k.supervisors, k.legs, k.dialing],
            args=[op, orjson.dumps(args), self.feed_maxlen],
        )
        result, detail, monitor = (text(x) for x in reply)
        return MonitorResult(result, detail, orjson.loads(monitor) if monitor else None)

    async def sequence_numbers(self, sids: list[str]) -> dict[str, int]:
        """Each conference's newest applied SequenceNumber; -1 when there is no document."""
        if not sids:
            return {}
        raws: list[Any] = await self.redis.mget([self.keys.conference(s) for s in sids])
        return {
            s: (conference_of(orjson.loads(r)).get("last_seq", 0) if r else -1)
            for s, r in zip(sids, raws, strict=True)
        }

    async def repair(self, sid: str, expected_seq: int, view: dict[str, Any]) -> RepairResult:
        """Make a conference match Twilio's view of it (live/repair.lua), unless a
        callback was applied since `expected_seq` was read."""
        k = self.keys
        reply: Any = await self._repair(
            keys=[k.conference(sid), k.live, k.calls, k.feed, k.timeline(sid)],
            args=[expected_seq, orjson.dumps(view), now_ms(), self.feed_maxlen],
        )
        result, repairs = text(reply[0]), orjson.loads(reply[1])
        return RepairResult(result, repairs if isinstance(repairs, dict) else {})

    async def announce(self, sids: list[str]) -> int:
        """Put these live conferences on the feed again, as they are now (their alerts moved
        with the clock); returns how many were announced."""
        if not sids:
            return 0
        keys = [self.keys.feed, *(self.keys.conference(s) for s in sids)]
        return int(await self._announce(keys=keys, args=[self.feed_maxlen]))

    async def alert_marks(self) -> dict[str, str]:
        """The alerts each live conference was last announced with (the ticker's memory)."""
        raw: Any = await self.redis.hgetall(self.keys.alerts)
        return {text(k): text(v) for k, v in raw.items()}

    async def set_alert_marks(self, changed: dict[str, str], gone: list[str]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        if changed:
            pipe.hset(self.keys.alerts, mapping=dict(changed.items()))
            for sid, alerts in changed.items():
                if alerts:
                    # What the call raised at some moment: its archived record keeps them.
                    pipe.sadd(self.keys.raised(sid), *alerts.split(","))
                    pipe.expire(self.keys.raised(sid), self.history_seconds)
        if gone:
            pipe.hdel(self.keys.alerts, *gone)
        await pipe.execute()

    async def follows(self, max_age_seconds: float = 0.0) -> dict[str, str]:
        """supervisor -> the agent whose next calls they join (follow-agent).

        `max_age_seconds`: a read this recent may be reused (every agent's join asks;
        a follow set in another process is seen within that time)."""
        cached = self._follows
        if cached is not None and time.monotonic() - cached[0] <= max_age_seconds:
            return cached[1]
        raw: Any = await self.redis.hgetall(self.keys.follows)
        follows = {text(k): text(v) for k, v in raw.items()}
        self._follows = (time.monotonic(), follows)
        return follows

    def followed(self, agent: str, max_age_seconds: float) -> bool | None:
        """Whether anyone follows `agent`, from a recent enough read, without I/O;
        None when the last read is too old to say."""
        cached = self._follows
        if cached is None or time.monotonic() - cached[0] > max_age_seconds:
            return None
        return agent in cached[1].values()

    async def follow(self, supervisor: str, agent: str | None) -> None:
        if agent is None:
            await self.redis.hdel(self.keys.follows, supervisor)
        else:
            await self.redis.hset(self.keys.follows, supervisor, agent)
        self._follows = None

    async def supervisor_conference(self, supervisor: str) -> str | None:
        sid = await self.redis.hget(self.keys.supervisors, supervisor)
        return text(sid) if sid is not None else None

    async def leg(self, call_sid: str) -> tuple[str, str] | None:
        """(supervisor, ConferenceSid) of a supervisor leg Earpiece dialed."""
        raw = await self.redis.hget(self.keys.legs, call_sid)
        if raw is None:
            return None
        supervisor, _, sid = text(raw).partition(" ")
        return supervisor, sid

    async def dialing_since(self, before_ms: int) -> list[str]:
        legs: Any = await self.redis.zrangebyscore(self.keys.dialing, 0, before_ms)
        return [text(x) for x in legs]

    # -- read --------------------------------------------------------------

    def limits(self, team: str | None) -> Thresholds:
        """The alert thresholds of a team: the settings, with the roster's overrides."""
        found = self._limits.get(team)
        if found is None:
            found = self._limits[team] = limits_for(team, self.roster, self.thresholds)
        return found

    def render(self, doc: Stored, at_ms: int | None = None) -> Json:
        try:
            decoded = conference_of(doc)
        except Exception:
            sid = str(doc.get("sid", "?")) if isinstance(doc, dict) else "?"
            self._report_unreadable(sid)
            return unreadable(sid)
        return self.render_read(decoded, at_ms)

    def render_read(self, doc: Conference, at_ms: int | None = None) -> Json:
        """render(), of a document read() decoded."""
        try:
            return decoded_json(doc, self.roster, at_ms or now_ms(), self.thresholds)
        except Exception:
            sid = str(doc.get("sid", "?"))
            self._report_unreadable(sid)
            return unreadable(sid)

    def _report_unreadable(self, sid: str) -> None:
        # Logged once per conference (bounded), not on every read of the floor.
        if sid not in self._unreadable and len(self._unreadable) < MAX_UNREADABLE_REPORTED:
            self._unreadable.add(sid)
            log.exception("conference %s cannot be rendered; shown as unreadable", sid[:40])

    async def document(self, sid: str) -> Stored | None:
        """The conference's document as stored (what render() and the feed take)."""
        raw = await self.redis.get(self.keys.conference(sid))
        return orjson.loads(raw) if raw else None

    async def read(self, sid: str) -> Conference | None:
        """The conference's document by readable names (core/documents.py)."""
        doc = await self.document(sid)
        return conference_of(doc) if doc is not None else None

    async def conference(self, sid: str) -> Json | None:
        """A live conference, or an ended one still kept for history (state `ended`)."""
        doc = await self.document(sid)
        return self.render(doc) if doc else None

    async def timeline(self, sid: str) -> list[TimelineEntry]:
        """A conference's events, oldest first by time (live/apply.lua records them as
        they arrive); a leg recorded before it had a label, by the label it has now."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.lrange(self.keys.timeline(sid), 0, -1)
            pipe.get(self.keys.conference(sid))
            rows, raw = await pipe.execute()
        labels: dict[str, str] = {}
        if raw:
            try:
                legs = orjson.loads(raw).get("p") or {}
                labels = {cs: str(p.get("label") or "") for cs, p in legs.items()}
            except (orjson.JSONDecodeError, AttributeError):
                labels = {}  # an unreadable document: the legs stay "a participant"
        return sorted((entry_of(row, labels) for row in rows), key=lambda e: (e.at_ms, e.seq))

    async def trim_feed(self, max_age_seconds: float) -> None:
        """Drop change-feed entries older than `max_age_seconds` (XTRIM MINID, approximate)."""
        oldest = max(0, now_ms() - int(max_age_seconds * 1000))
        await self.redis.xtrim(self.keys.feed, minid=f"{oldest}-0", approximate=True)

    async def live_sids(self) -> list[str]:
        sids: Any = await self.redis.zrange(self.keys.live, 0, -1)
        return [text(s) for s in sids]

    async def conferences(self, at_ms: int | None = None) -> list[Json]:
        """Every live conference, oldest first, its alerts as of `at_ms` (now by default).

        Between two reads of a floor most conferences have not changed. Each
        one's rendering is kept with the exact bytes of the document it came
        from; an unchanged document is neither parsed nor rendered again, and
        only its alerts, which move with the clock, are recomputed. What it
        returns is shared with the cache: read it, do not change it.
        """
        sids = await self.live_sids()
        if not sids:
            self._rendered.clear()
            return []
        # MGETs of a few hundred documents each (every key shares the floor's hash
        # slot, so this works on a Cluster too): one reply of ten thousand
        # documents takes the loop long enough to delay callbacks and SSE writes.
        raws: list[Any] = []
        for first in range(0, len(sids), YIELD_EVERY * 2):
            chunk = sids[first : first + YIELD_EVERY * 2]
            raws += await self.redis.mget([self.keys.conference(s) for s in chunk])
        at = at_ms if at_ms is not None else now_ms()
        cache = self._rendered
        out = []
        for n, (sid, raw) in enumerate(zip(sids, raws, strict=True)):
            if not raw:
                continue
            if n % YIELD_EVERY == YIELD_EVERY - 1:
                # A floor of thousands takes a while to render when much of it is new;
                # let callbacks and SSE writes through meanwhile.
                await asyncio.sleep(0)
            hit = cache.get(sid)
            try:
                if hit is None or hit[0] != raw:
                    rendered, clock = render_with_clock(orjson.loads(raw), self.roster)
                    hit = cache[sid] = (raw, rendered, clock)
                _, rendered, clock = hit
                # Set in place, not copied: callers only serialize what they get.
                if clock is not None:
                    own = self.limits(rendered["team"])
                    rendered["alerts"] = clock.alerts(at, own)
                    rendered["signals"] = clock.signals(at, own)
            except Exception:
                # One document that cannot be rendered is one flagged row, never a failed
                # floor: every other call still shows, and this one says it is unreadable.
                self._report_unreadable(sid)
                rendered = unreadable(sid)
            out.append(rendered)
        mark_duplicates(out)
        if len(cache) > 2 * len(sids) + 64:
            # Forget what left the floor (checked now and then, not on every read).
            live = set(sids)
            for gone in [s for s in cache if s not in live]:
                del cache[gone]
        return out

    async def call(self, call_sid: str) -> Json | None:
        """Where a live call is: its conference and its role there, or None."""
        sid = await self.redis.hget(self.keys.calls, call_sid)
        if sid is None:
            return None
        doc = await self.read(text(sid))
        if doc is None or doc.get("status") == "completed":
            return None
        p = doc["participants"].get(call_sid)
        if p is None or not p.get("present"):
            return None
        return {
            "call_sid": call_sid,
            "conference_sid": doc["sid"],
            "friendly_name": doc.get("friendly_name") or "",
            "label": p.get("label"),
            "role": role_of(p.get("label"))[0],
        }

    # -- change feed -------------------------------------------------------

    @staticmethod
    def _entry(raw_id: bytes | str, fields: dict[bytes, bytes]) -> FeedEntry:
        kind = fields[b"k"].decode()
        return FeedEntry(
            id=text(raw_id),
            event=FEED_EVENTS.get(kind, "conference"),
            sid=fields[b"sid"].decode(),
            raw=fields[b"doc"],
        )

    async def feed_after(self, last_id: str, count: int = 500) -> list[FeedEntry]:
        """Entries strictly after `last_id`, oldest first."""
        rows: Any = await self.redis.xrange(self.keys.feed, min=f"({last_id}", max="+", count=count)
        return [self._entry(i, f) for i, f in rows]

    async def feed_wait(self, last_id: str, block_ms: int, count: int = 500) -> list[FeedEntry]:
        """Entries after `last_id`, waiting up to `block_ms` for the first one."""
        reply: Any = await self.redis.xread({self.keys.feed: last_id}, block=block_ms, count=count)
        if not reply:
            return []
        _, rows = reply[0]
        return [self._entry(i, f) for i, f in rows]

    async def feed_first_id(self) -> str | None:
        rows: Any = await self.redis.xrange(self.keys.feed, count=1)
        return text(rows[0][0]) if rows else None

    async def feed_last_id(self) -> str:
        """The newest feed id, or "0-0" for an empty feed."""
        rows: Any = await self.redis.xrevrange(self.keys.feed, count=1)
        return text(rows[0][0]) if rows else "0-0"

    async def feed_probe(
        self, read: str, mark: str, mark_seconds: int
    ) -> tuple[str | None, str | None, int, int, bool]:
        """(the feed's first id, the last id ever added to it, how many entries were ever
        added up to `read` (-1: not known), how many calls are live, whether the key `mark`
        is still there (its life renewed)), at one instant; an id is None when the feed
        does not exist."""
        keys = [self.keys.feed, self.keys.live, mark]
        reply: Any = await self._probe(keys=keys, args=[read, mark_seconds])
        first, last, added, live, marked = reply
        return text(first) or None, text(last) or None, int(added), int(live), bool(marked)

    async def live_documents(self) -> list[tuple[str, int, bytes]]:
        """Every live conference's document with its place in the live index (sid, score,
        bytes), oldest first: the full read a reader keeping the floor begins from."""
        pairs: Any = await self.redis.zrange(self.keys.live, 0, -1, withscores=True)
        out: list[tuple[str, int, bytes]] = []
        for first in range(0, len(pairs), YIELD_EVERY * 2):
            chunk = [(text(s), int(score)) for s, score in pairs[first : first + YIELD_EVERY * 2]]
            raws: list[Any] = await self.redis.mget([self.keys.conference(s) for s, _ in chunk])
            out += [(s, score, raw) for (s, score), raw in zip(chunk, raws, strict=True) if raw]
        return out

    async def documents(self, sids: list[str]) -> dict[str, Stored]:
        """The documents of these conferences that exist (one MGET), as stored."""
        if not sids:
            return {}
        raws: list[Any] = await self.redis.mget([self.keys.conference(s) for s in sids])
        return {s: orjson.loads(r) for s, r in zip(sids, raws, strict=True) if r}

    async def ping(self) -> bool:
        return bool(await self.redis.ping())
