"""The change feed's fan-out inside one process.

One reader task per process follows the Redis Stream (one blocking XREAD,
whatever the number of subscribers) and renders each entry once; each
subscriber gets it through its own bounded queue. A subscriber that falls
behind by more than its queue is closed rather than allowed to grow memory or
slow the others: its client reconnects with Last-Event-ID and catches up from
the Stream itself.

When Redis goes away the reader backs off and retries; when Redis returns it
resumes from the last id it saw, so no change is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from redis.exceptions import RedisError

from core.documents import card_of
from core.tasks import cancel_all, pause, stop_if_asked
from core.waiting import wait_on
from live import privacy, words
from live.model import card_json
from live.store import FeedEntry, LiveFloor
from live.transcript_view import line_json
from live.words import WordsScope, in_scope

log = logging.getLogger("earpiece.feed")

READ_BLOCK_MS = 1000
READ_COUNT = 500  # entries one read takes at most (LiveFloor.feed_wait)
# A read that returns entries this long after the one before may follow a gap: checked.
GAP_CHECK_SECONDS = 5.0
# With no `/events` stream in this process (its clients take each change as it comes), the
# reader lets changes gather this long between reads that did not fill up: the board hub
# passes at most every EARPIECE_DASHBOARD_REFRESH_SECONDS anyway, the ticker once a
# second, and a softphone's `GET /api/calls/{sid}?wait=` hears of its call up to this much
# later. Read as they came, a few entries a read under thousands of callbacks a second,
# the reads cost the service a round trip and a wakeup of every waiter each, which with the
# entries was a tenth of its CPU (issue 29, ARCHITECTURE.md "What a callback costs").
GATHER_SECONDS = 0.05
MAX_TEAMS_KEPT = 50_000
BACKOFF_MAX_SECONDS = 5.0


@dataclass(slots=True)
class Message:
    """One change, rendered once per process and shared by every subscriber.

    `wire` caches its encoding for the wire (filled by the first subscriber
    that sends it), so fifty subscribers cost one encoding, not fifty.
    """

    id: str | None
    event: str
    data: str
    wire: bytes | None = None
    # A conference that carries a customer's number or words (its last line, its phrase
    # alerts), for readers who may not see them: each other form of its data (numbers masked,
    # words hidden, or both) is made once, by the first reader who needs it, and kept here.
    doc: dict[str, Any] | None = None
    forms: dict[tuple[bool, bool], tuple[str, bytes | None]] | None = None
    # A card's agent: an agent's softphone receives only its own cards.
    agent: str | None = None
    # The conference it is about (a call page's stream follows one call), and its team:
    # a transcript line reaches only those who may listen to that team's calls.
    sid: str | None = None
    team: str | None = None

    def data_for(self, full_numbers: bool, hears: bool, country: str | None = None) -> str:
        """Its data as a reader sees it (full numbers or not; may hear the call or not);
        `country`: the floor's (one per process), whose numbers are written nationally."""
        if self.doc is None or (full_numbers and hears):
            return self.data
        return self._form(full_numbers, hears, country)[0]

    def wire_for(
        self,
        full_numbers: bool,
        hears: bool,
        encode: Callable[[str], bytes],
        country: str | None = None,
    ) -> bytes:
        """Its SSE bytes as a reader sees it, encoded once per form (by `encode`)."""
        if self.doc is None or (full_numbers and hears):
            if self.wire is None:
                self.wire = encode(self.data)
            return self.wire
        data, wire = self._form(full_numbers, hears, country)
        if wire is None:
            wire = encode(data)
            assert self.forms is not None
            self.forms[(full_numbers, hears)] = (data, wire)
        return wire

    def _form(
        self, full_numbers: bool, hears: bool, country: str | None
    ) -> tuple[str, bytes | None]:
        assert self.doc is not None
        forms = self.forms if self.forms is not None else {}
        self.forms = forms
        found = forms.get((full_numbers, hears))
        if found is None:
            shown = self.doc if hears else words.hidden(self.doc)
            shown = shown if full_numbers else privacy.masked(shown, country)
            found = forms[(full_numbers, hears)] = (orjson.dumps(shown).decode(), None)
        return found

    def masked_data(self, country: str | None = None) -> str:
        """`country`: the floor's (one per process), whose numbers are written nationally."""
        return self.data_for(False, True, country)


def render(
    floor: LiveFloor,
    entry: FeedEntry,
    team: str | None = None,
    kept: dict[str, Any] | None = None,
) -> Message:
    """One feed entry as every reader shares it; `team` is the team of the call a transcript
    line or a card is about, `kept` a held transcript line as it is kept now."""
    if entry.event == "conference-ended":
        return Message(
            entry.id, entry.event, orjson.dumps({"sid": entry.sid}).decode(), sid=entry.sid
        )
    if entry.event == "card":
        # A card is words (live/words.py): it reaches its agent, and the supervisors who
        # may listen to its call's team.
        card = card_json(card_of(entry.doc))
        data = orjson.dumps(card).decode()
        return Message(entry.id, entry.event, data, sid=entry.sid, team=team, agent=card["agent"])
    if entry.event == "transcript":
        line = line_json(kept if kept is not None else entry.doc)
        data = orjson.dumps({"sid": entry.sid, "line": line}).decode()
        return Message(entry.id, entry.event, data, sid=entry.sid, team=team)
    rendered = floor.render(entry.doc)
    data = orjson.dumps(rendered).decode()
    shown = rendered if privacy.has_number(rendered) or words.has_words(rendered) else None
    return Message(entry.id, entry.event, data, doc=shown, sid=entry.sid, team=rendered.get("team"))


def id_key(stream_id: str) -> tuple[int, int]:
    """Order of stream ids ("<ms>-<seq>"); raise ValueError for anything else."""
    ms, sep, seq = stream_id.partition("-")
    if not sep or not ms.isdigit() or not seq.isdigit():
        raise ValueError(stream_id)
    key = int(ms), int(seq)
    if max(key) >= 2**64:  # Redis stream ids are two unsigned 64-bit numbers
        raise ValueError(stream_id)
    return key


# Feed events that are a call's words, whole: only for those who may hear its team's calls.
WORDS_EVENTS = frozenset({"transcript", "card"})


@dataclass(eq=False)
class Subscription:
    queue: asyncio.Queue[Message | None]
    # The feed id this subscription starts after: every later change reaches
    # its queue, none before it does.
    start: str = "0-0"
    overflowed: bool = False
    # What its reader may see: full customers' numbers or masked ones, and for an
    # agent's softphone only the cards sent to that agent.
    full_numbers: bool = False
    agent: str | None = None
    # A call page's stream: only that call's transcript lines and changes.
    watch: str | None = None
    # Whose calls' words its reader may read (live/words.py): every team (None), some
    # (a lead's), or none (the shared service token, an agent's softphone).
    scope: WordsScope = None

    def wants(self, message: Message) -> bool:
        if self.watch is not None:
            return message.sid == self.watch and message.event in ("transcript", "conference")
        if self.agent is not None:
            return message.event == "card" and message.agent == self.agent
        return message.event not in WORDS_EVENTS or in_scope(self.scope, message.team)

    def hears(self, message: Message) -> bool:
        return in_scope(self.scope, message.team)


# Feed entries that name a queue or an agent (TaskRouter, issue 12) and are sent whole:
# rendered by reading them, a batch at a time.
READ_KINDS = ("queue", "agent")
Reader = Callable[[str, Iterable[str]], Awaitable[dict[str, Any]]]


class FeedHub:
    """Follows the Stream while anyone in this process listens, and idles otherwise."""

    def __init__(
        self, floor: LiveFloor, queue_size: int = 1000, reader: Reader | None = None
    ) -> None:
        self.floor = floor
        self.reader = reader
        self.queue_size = queue_size
        self._subs: set[Subscription] = set()
        self._waiters = 0
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self._interest = asyncio.Event()
        self._activating = asyncio.Lock()
        self._following = False
        self.last_id = "0-0"
        # Who takes every entry as it is read (the board hub keeps the floor from them),
        # the newest id they were given, and a number that moves whenever the reading
        # broke off (it began again from the present, or Redis failed): a listener that
        # sees it move may have missed entries.
        self._listeners: list[Callable[[list[FeedEntry]], None]] = []
        self.read_id = "0-0"
        self.epoch = 0
        # Where the reading last broke off: the first id read after it (None: not known,
        # Redis failed). A listener that read the floor whole after it missed nothing.
        self.broke_at: str | None = None
        self._resumed = False  # the reader began again (a stopped hub started)
        self._read_at = time.monotonic()  # when a read last returned entries
        # Each live call's team, as its conference last rendered here said.
        self.teams: dict[str, str | None] = {}

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    async def _follow(self) -> None:
        """Make sure the reader follows the Stream from a known position."""
        async with self._activating:
            if not self._following:
                # Idle until now: nobody needs the past, start from the present.
                self.last_id = self.read_id = await self.floor.feed_last_id()
                self.epoch += 1
                self.broke_at = self.read_id
                self._following = True
                self._interest.set()

    async def subscribe(
        self,
        full_numbers: bool = False,
        agent: str | None = None,
        watch: str | None = None,
        scope: WordsScope = None,
    ) -> Subscription:
        await self._follow()
        sub = Subscription(
            queue=asyncio.Queue(maxsize=self.queue_size),
            start=self.last_id,
            full_numbers=full_numbers,
            agent=agent,
            watch=watch,
            scope=scope,
        )
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    async def listen(self, listener: Callable[[list[FeedEntry]], None]) -> tuple[str, int]:
        """Give `listener` every batch of entries as it is read, from now on, until
        `unlisten`; while anyone listens the reader follows the feed. Returns the id the
        listener's first entry follows and the reading's epoch (see `epoch`)."""
        await self._follow()
        self._listeners.append(listener)
        return self.read_id, self.epoch

    def unlisten(self, listener: Callable[[list[FeedEntry]], None]) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    async def start(self) -> None:
        if self._task is None:
            self._resumed = True
            self._task = asyncio.create_task(self._run(), name="earpiece-feed-reader")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_all([self._task])
            self._task = None
        for sub in list(self._subs):
            sub.overflowed = True
            with contextlib.suppress(asyncio.QueueFull):
                sub.queue.put_nowait(None)
        self._subs.clear()

    async def wait_for_change(self, seconds: float) -> None:
        """Return after the next change to the floor, or after `seconds`."""
        self._waiters += 1
        try:
            await self._follow()
            await wait_on(self._changed, seconds)
        finally:
            self._waiters -= 1

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            stop_if_asked()  # a read may have swallowed the cancel (core/tasks.py)
            if not self._subs and not self._waiters and not self._listeners:
                self._following = False
                self._interest.clear()
                await self._interest.wait()
                continue
            try:
                entries = await self.floor.feed_wait(self.last_id, READ_BLOCK_MS)
                backoff = 0.1
            except RedisError as exc:
                self.epoch += 1  # a listener cannot tell what it missed meanwhile
                self.broke_at = None
                log.warning("change feed: Redis unavailable (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)
                continue
            except Exception:
                # The reader serves every stream of the process: it logs and goes on.
                self.epoch += 1
                self.broke_at = None
                log.exception("change feed: reading failed; retrying in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)
                continue
            if not entries:
                continue
            if await self._gap_before(entries):
                self.epoch += 1
                self.broke_at = entries[0].id
                log.warning("change feed: entries after %s were trimmed unread", self.read_id)
            self.read_id = entries[-1].id
            for listener in list(self._listeners):
                try:
                    listener(entries)
                except Exception:
                    # A listener's failure must not end the reading for every stream.
                    log.exception("change feed: a listener failed on %d entries", len(entries))
            messages = await self.render_batch(entries) if self._subs else []
            for message in messages:
                self._deliver(message)
            self.last_id = entries[-1].id
            async with self._changed:
                self._changed.notify_all()
            if not self._subs and len(entries) < READ_COUNT:
                await pause(GATHER_SECONDS)

    async def _gap_before(self, entries: list[FeedEntry]) -> bool:
        """Whether entries were trimmed from the feed before this reader read them, asked
        only where that can be (the first read after the reader began again, a full batch:
        it is behind, or a read long after the last). (The board's hub also counts entries
        where Redis counts them, 7.0 on: live/board_hub.py.)"""
        now = time.monotonic()
        suspect = (
            self._resumed or len(entries) >= READ_COUNT or now - self._read_at > GAP_CHECK_SECONDS
        )
        self._resumed, self._read_at = False, now
        if not suspect or not self._listeners or self.read_id == "0-0":
            return False
        # Entries between the last one read and this batch's first can only have been
        # trimmed if the feed began at this batch's first when it was read: a feed that
        # begins before it now lost nothing unread (one that begins at or after it may
        # have, or the reader is a whole feed behind: either way, say so).
        first = await self.floor.feed_first_id()
        return first is not None and id_key(first) >= id_key(entries[0].id)

    async def render_batch(self, entries: list[FeedEntry]) -> list[Message]:
        """Each entry rendered once; queues and agents read whole, once per batch. One that
        no longer exists (or cannot be read now) is left out: the next change sends it."""
        read: dict[str, dict[str, Any]] = {}
        for kind in READ_KINDS:
            sids = {e.sid for e in entries if e.event == kind}
            if sids and self.reader is not None:
                try:
                    for sid, doc in (await self.reader(kind, sids)).items():
                        read[f"{kind}:{sid}"] = doc
                except RedisError as exc:
                    log.warning("change feed: could not read %s: %s", kind, exc)
        await self._learn_teams(entries)
        kept = await self._held_lines(entries)
        out = []
        for entry in entries:
            if entry.event == "conference-ended":
                self.teams.pop(entry.sid, None)
            if entry.event in READ_KINDS:
                doc = read.get(f"{entry.event}:{entry.sid}")
                if doc is not None:
                    out.append(Message(entry.id, entry.event, orjson.dumps(doc).decode()))
                continue
            try:
                message = render(self.floor, entry, self.teams.get(entry.sid), kept.get(entry.id))
                if message.event in ("conference", "transcript"):
                    self.teams[entry.sid] = message.team
                out.append(message)
            except Exception:
                # One document that cannot be rendered must not stop the feed for every
                # other call: it is left out (and logged); its next good change goes out.
                log.exception(
                    "change feed: could not render %s %s; skipped", entry.event, entry.sid
                )
        return out

    async def _learn_teams(self, entries: list[FeedEntry]) -> None:
        """The team of each call a transcript line of `entries` is about, when this process has
        not seen that call's conference yet: a line reaches only those who may hear its call,
        and one whose team cannot be read now goes to nobody who needs it (team unknown)."""
        unknown = {e.sid for e in entries if e.event in WORDS_EVENTS and e.sid not in self.teams}
        if not unknown:
            return
        if len(self.teams) > MAX_TEAMS_KEPT:
            self.teams.clear()  # ended calls are dropped as they end; this is a backstop
        for sid in unknown:
            try:
                found = await self.floor.conference(sid)
            except RedisError as exc:
                log.warning("change feed: could not read %s's team: %s", sid, exc)
                continue
            self.teams[sid] = (found or {}).get("team")

    async def _held_lines(self, entries: list[FeedEntry]) -> dict[str, dict[str, Any]]:
        """Transcript lines the feed holds masked (`h`: a number the call's window may yet
        judge part of a card, live/transcript.lua), read as they are kept now: in the clear
        unless the window judged a card since. One round trip a batch; a line that is gone
        or cannot be read now goes out as the feed holds it, masked."""
        held = [e for e in entries if e.event == "transcript" and e.doc.get("h")]
        if not held:
            return {}
        keys = self.floor.keys
        pipe = self.floor.redis.pipeline(transaction=False)
        for entry in held:
            line = entry.doc
            if line.get("f"):
                pipe.hget(keys.transcript_lines(entry.sid), f"{line.get('g')}:{line.get('q')}")
            else:
                pipe.hget(
                    keys.transcript_registers(entry.sid), f"{line.get('g')}|{line.get('s')}|p"
                )
        try:
            raws = await pipe.execute()
        except RedisError as exc:
            log.warning("change feed: could not read held transcript lines: %s", exc)
            return {}
        kept = {}
        for entry, raw in zip(held, raws, strict=True):
            if raw:
                line = orjson.loads(raw)
                if line.get("q") == entry.doc.get("q"):
                    kept[entry.id] = line
        return kept

    def _deliver(self, message: Message) -> None:
        for sub in list(self._subs):
            if (sub.watch is not None or sub.agent is not None) and not sub.wants(message):
                continue  # a call page or a softphone: most of the floor is not for it
            try:
                sub.queue.put_nowait(message)
            except asyncio.QueueFull:
                # Too slow: close it; its client resumes from the Stream.
                self._subs.discard(sub)
                sub.overflowed = True
