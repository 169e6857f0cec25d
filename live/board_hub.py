"""The board's fan-out inside one process: every view worked out once per change.

Thirty supervisors watching the floor must not cost thirty times one
(MEASUREMENTS.md: the Streamlit board rebuilt the floor per watcher per
refresh and froze at five). Here, while anyone in this process watches:

- one *pass* reads the floor, at most once per `period` and only after the
  change feed moved (or once per `clock_seconds`, for the reasons that quote
  a duration), and turns every call into its row once (`live.board.entries`);
- each distinct view (a set of filters, `live.board.Filters`) is then a
  filter, a sort and a cut of those rows, once per pass whatever the number
  of its watchers, and only a view whose rows or order changed gets a new
  version;
- a version's message is encoded once, lazily, in two forms: the whole view
  (for a watcher that is new or fell behind) and the change from the version
  before (for a watcher that is up to date). Every watcher of a view shares
  those bytes.

A watcher that is slow to read is never queued for: when it asks again it
gets the newest version, whole if it skipped one. Views with no watcher are
forgotten, and the number of views is bounded.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.exceptions import RedisError

from core.tasks import cancel_all, pause, stop_if_asked
from core.waiting import wait_on
from live import board, ears, words
from live.board import Entry, Filters
from live.board_floor import BoardFloor
from live.feed import FeedHub, id_key
from live.model import Json
from live.queues import LiveQueues
from live.store import YIELD_EVERY, FeedEntry, LiveFloor, now_ms
from live.unapplied import Unapplied
from live.words import WordsScope, in_scope

log = logging.getLogger("earpiece.board")

# A pass at least this often while anyone watches: the "why" texts quote durations.
CLOCK_SECONDS = 1.0
# How long the ticker waits for the hub's first pass before it reads the floor whole itself:
# under its lock's life (live/ticker.py, three pauses), so the process that holds the lock
# still holds it when it ticks, and no other takes over meanwhile.
FLOOR_NOW_WAIT_SECONDS = 1.0
MAX_VIEWS = 64
# A pass this much later than due (one comes at least every max(period, clock_seconds))
# while someone watches: the floor is out of reach (Redis stalls rather than refuses: a
# frozen server, a full network buffer). Every Redis call has its own timeout
# (core/redis_client.py: 5 s, and one retry), far too long for a supervisor to look
# at a board that ticks as if live; the watchdog says so sooner (3 s by default).
STALL_SECONDS = 2.0
STALLED = "The live floor is out of reach (Redis is not answering)"
# After an unexpected failure of the pass loop, wait this long before the next pass.
RETRY_SECONDS = 0.5
# Feed entries held for the next pass at most; beyond, that pass reads the floor whole.
MAX_PENDING = 200_000
# Calls caught up at a time before callbacks and SSE writes go through (~60 us each: a
# callback waits on two or three turns of the loop, and a thousand calls at once held it
# ~60 ms; slices of 200 still doubled its p99 at 32 connections, 21 -> 38 ms).
CATCH_UP_SLICE = 50
# Calls with changes not yet applied to the kept floor at most (live/unapplied.py); beyond,
# they are applied at once, so a pass has no more than this to render on top of its own
# work (~30 us a call: under 100 ms) however fast the feed goes.
MAX_UNAPPLIED = 2_000
# The life of a hub's mark in Redis (renewed every pass): it outlives any pause of a pass.
MARK_SECONDS = 3600
# After the ticker last asked for the floor (`floor_now`), the hub keeps following the feed
# this long, watched or not: the ticker asks once a tick or two.
TICKER_FOLLOW_SECONDS = 10.0


class TooManyViews(Exception):
    """This process already keeps its maximum of distinct views."""


@dataclass(eq=False)
class View:
    """One set of filters and its newest version, shared by all who watch it."""

    filters: Filters
    # Whose words its rows carry (live/words.py): the same filters for a manager and for a
    # lead are two views.
    scope: WordsScope = None
    watchers: int = 0
    version: int = 0  # 0: not worked out yet
    order: list[str] = field(default_factory=list)
    rows: dict[str, bytes] = field(default_factory=dict)
    matched: int = 0
    changed: dict[str, bytes] = field(default_factory=dict)  # rows new or changed since v-1
    summary: bytes = b""  # live count, KPIs, help: the part every message of this version ends with
    at_ms: int = 0
    _full: bytes | None = None
    _delta: bytes | None = None
    _framed: dict[bool, bytes] = field(default_factory=dict)  # a delta? -> the event
    _unchanged: tuple[int, int, bytes] = (0, 0, b"")  # (version, pass ms, the event)

    def update(self, shown: list[Entry], matched: int, summary: bytes, at_ms: int) -> bool:
        """Take this pass's rows (the first `limit` of the `matched` the filters keep); True
        (and a new version) if anything a watcher sees moved.

        `summary` is what every message of the pass ends with (counts, KPIs, help);
        `at_ms`, the pass's time, is stamped on a new version but is no change by itself."""
        order = [str(e.row["sid"]) for e in shown]
        scope = self.scope
        rows = {
            sid: e.wire_for(in_scope(scope, e.conference.get("team")))
            for sid, e in zip(order, shown, strict=True)
        }
        changed = {sid: wire for sid, wire in rows.items() if self.rows.get(sid) != wire}
        same = order == self.order and summary == self.summary and matched == self.matched
        if self.version and not changed and same:
            return False
        self.order, self.rows, self.changed, self.summary = order, rows, changed, summary
        self.matched, self.at_ms = matched, at_ms
        self.version += 1
        self._full = self._delta = None
        self._framed = {}
        return True

    def event(self, since: int | None) -> bytes:
        """`message` as a whole SSE `board` event, framed once per version for every watcher
        of the view (a 500-row view's bytes are not copied again for each of them)."""
        delta = since is not None and since == self.version - 1
        framed = self._framed.get(delta)
        if framed is None:
            framed = b"event: board\r\ndata: " + self.message(since) + b"\r\n\r\n"
            self._framed[delta] = framed
        return framed

    def unchanged(self, at_ms: int) -> bytes:
        """An SSE `unchanged` event: the pass at `at_ms` left this version as it was, so a
        watcher who has it sees the view as of then. Framed once per pass for every watcher
        of the view. (A view whose rows move only with the clock changes once a second, and
        a quiet one not at all: without it a page cannot tell a quiet view from a stalled
        stream.)"""
        version, at, framed = self._unchanged
        if version != self.version or at != at_ms:
            data = orjson.dumps({"v": self.version, "at": at_ms})
            framed = b"event: unchanged\r\ndata: " + data + b"\r\n\r\n"
            self._unchanged = (self.version, at_ms, framed)
        return framed

    def message(self, since: int | None) -> bytes:
        """The data of an SSE `board` event: the change since `since`, or the whole view."""
        if since is not None and since == self.version - 1:
            if self._delta is None:
                self._delta = self._encode(since, self.changed)
            return self._delta
        if self._full is None:
            self._full = self._encode(None, self.rows)
        return self._full

    def _encode(self, base: int | None, rows: dict[str, bytes]) -> bytes:
        body = b",".join(orjson.dumps(sid) + b":" + wire for sid, wire in rows.items())
        head = orjson.dumps(
            {"v": self.version, "base": base, "matched": self.matched, "order": self.order}
        )
        return (
            head[:-1]
            + b',"rows":{'
            + body
            + b"},"
            + self.summary
            + b',"at":'
            + orjson.dumps(self.at_ms)
            + b"}"
        )


class BoardHub:
    """Works out the views this process's watchers look at, once per change."""

    def __init__(
        self,
        floor: LiveFloor,
        feed: FeedHub,
        *,
        period: float,
        mask: bool,
        country: str | None = None,
        clock_seconds: float = CLOCK_SECONDS,
        max_views: int = MAX_VIEWS,
        queues: LiveQueues | None = None,
        stall_seconds: float = STALL_SECONDS,
        incremental: bool = True,
    ) -> None:
        self.floor, self.feed, self.queues = floor, feed, queues
        # The TaskRouter floor (issue 12), worked out once a pass while a wallboard
        # watches: its encoding, the version it is, and how many watch it.
        self.queue_watchers = 0
        self.queue_version = 0
        self.queue_message = b""
        self._queue_stable = b""
        # One rendering is shared by every watcher, whatever their role: always masked
        # in the service (access/policy.py sees_full_numbers), written for the floor's country.
        self.period, self.mask, self.country = period, mask, country
        self.clock_seconds, self.max_views = clock_seconds, max_views
        self.views: dict[tuple[Filters, WordsScope], View] = {}
        self.passes = 0
        self.error: str | None = None  # why the last pass failed, while it does
        self.mine: dict[str, dict[str, Any]] = {}  # supervisor -> own leg
        self.pass_ms = 0.0  # the last pass's duration (for /metrics and the bench)
        self.pass_cpu_ms = 0.0  # the CPU of its own work, Redis waits left out
        self.passed_ms = 0  # the instant the last pass worked the views out at (epoch ms)
        self._passed = asyncio.Condition()
        self._wake = asyncio.Event()
        # What the last pass's summaries are made of (counts and KPIs; the cues, and each
        # cue's call's team for the cues out of a watcher's reach).
        self._last: tuple[bytes, list[dict[str, Any]], dict[str, Any]] | None = None
        self._summaries: dict[WordsScope, bytes] = {}
        # The floor kept from the feed (live/board_floor.py; issue 29), or, with
        # `incremental` off, read whole each pass into every call's row (`_everything`).
        self.incremental = incremental
        self.kept: BoardFloor | None = None
        self.loads = 0  # full reads of the floor (start, a gap in the feed, a reset)
        self._pending: list[FeedEntry] = []  # entries held while the floor is read whole
        # Entries taken since the kept floor was last brought up to date (each call's
        # newest), applied when something reads it (live/unapplied.py).
        self._unapplied = Unapplied()
        self._reread: set[str] = set()  # calls to read again at the next pass
        self._loading = False
        self._read_id = "0-0"  # the newest feed entry handed to this hub
        self._received = 0  # how many entries were handed to it
        # Entries the feed ever had up to the one read last, less those handed to this hub:
        # a number that stays put while no entry is missed (None: not known yet).
        self._unseen: int | None = None
        self._epoch = -1  # the feed reading's epoch the kept floor follows
        # The feed's last id when the floor was last read whole: entries up to it are older
        # than what was read (a reader behind the feed catches up past them, unapplied).
        self._floor_at = "0-0"
        self._listening = False
        # A key of this hub's, set when it reads the floor whole: gone means Redis lost it.
        self._mark = f"{floor.keys.tag}:board:{uuid.uuid4().hex}"
        self._everything: list[Entry] = []
        self._rows = board.Rows()
        self._task: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self.stall_seconds = stall_seconds
        self._passed_at = time.monotonic()  # when the last pass ended well (or watching began)
        self._ticker_asked = -1e9  # when the ticker last asked for the floor (monotonic)

    @property
    def ready(self) -> bool:
        """A pass has worked the floor out since watching began (call versions mean something)."""
        return self._last is not None

    def call_version(self, sid: str) -> int | None:
        """A number that moves whenever that live call changes; None once it is not live."""
        if self.incremental:
            if self.kept is None:
                return None
            # That call only: a page following it asks after every pass, and the calls that
            # changed since are the next pass's to render (live/unapplied.py).
            self._catch_up(call=sid)
            return self.kept.version(sid)
        return self._rows.versions.get(sid)

    @property
    def watchers(self) -> int:
        return sum(v.watchers for v in self.views.values())

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="earpiece-board")
            self._watchdog = asyncio.create_task(self._watch(), name="earpiece-board-watchdog")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, self._watchdog) if t is not None]
        if tasks:
            await cancel_all(tasks)
            self._task = self._watchdog = None

    async def watch(self, filters: Filters, scope: WordsScope = None) -> View:
        """Start watching a view (its rows with the words of `scope`'s calls only); it is
        worked out at once from the last pass, if there is one."""
        view = self.views.get((filters, scope))
        if view is None:
            if len(self.views) >= self.max_views:
                raise TooManyViews(f"this process already keeps {self.max_views} board views")
            view = self.views[(filters, scope)] = View(filters, scope)
            if self._last is None:
                self._wake.set()  # idle until now: the loop makes a pass at once
            else:
                view.update(*self._select(filters), self._summary(scope), now_ms())
                await self._announce()
        view.watchers += 1
        return view

    def unwatch(self, view: View) -> None:
        view.watchers -= 1
        key = (view.filters, view.scope)
        if view.watchers <= 0 and self.views.get(key) is view:
            del self.views[key]

    def _summary(self, scope: WordsScope) -> bytes:
        """What every message of this pass ends with, for a watcher of `scope`: the help cues
        of calls out of its reach say that a phrase alert fired, not which phrase."""
        found = self._summaries.get(scope)
        if found is None:
            assert self._last is not None
            head, cues, teams = self._last
            shown = [
                c
                if not c.get("phrase") or in_scope(scope, teams.get(c["sid"]))
                else words.hidden_cue(c)
                for c in cues
            ]
            found = self._summaries[scope] = head + b',"help":' + orjson.dumps(shown)
        return found

    def _select(self, filters: Filters) -> tuple[list[Entry], int]:
        """The first `filters.limit` rows of a view as of the last pass, and how many match."""
        if self.incremental:
            assert self.kept is not None
            self._catch_up()  # a view made between two passes shows what came since
            return self.kept.shown(filters)
        kept = board.select(self._everything, filters)
        return kept[: filters.limit], len(kept)

    async def next_pass(self, after: int, seconds: float) -> int:
        """Wait until a pass newer than `after` is done (or `seconds`); the newest pass."""
        await wait_on(self._passed, seconds, lambda: self.passes > after)
        return self.passes

    async def _announce(self) -> None:
        async with self._passed:
            self.passes += 1
            self._passed.notify_all()

    def _wanted(self) -> bool:
        """Someone needs the passes: a watcher, or the ticker lately."""
        return bool(self.views) or (time.monotonic() - self._ticker_asked < TICKER_FOLLOW_SECONDS)

    async def floor_now(self, wait_seconds: float = FLOOR_NOW_WAIT_SECONDS) -> list[Json] | None:
        """Every live call as a full read renders it, its alerts as of now, from the floor
        kept from the feed: what the once-a-second ticker and its jobs go over (issue 29: a
        10,000-call floor is no longer read from Redis every second). The hub follows the
        feed while asked, watched or not; a read of the floor whole where it keeps none,
        and None (no floor this tick) while the hub is reading it whole itself."""
        self._ticker_asked = time.monotonic()
        if not self.incremental:
            return await self.floor.conferences()
        deadline = time.monotonic() + wait_seconds
        while self.kept is None and (left := deadline - time.monotonic()) > 0:
            self._wake.set()  # idle until now: the loop makes a pass (reading the floor) at once
            await self.next_pass(self.passes, min(left, 1.0))
        kept = self.kept
        if kept is None and self._loading:
            # This hub is reading the floor whole already: a second whole read beside it
            # would only slow both (10,000 documents each); this tick waits for it.
            return None
        if kept is None or (self.error is not None and self.error != STALLED):
            return await self.floor.conferences()
        # Stalled: Redis does not answer, and a read of it would not either; or this process
        # is too busy for a pass, and a whole read would take longer still.
        await self._catch_up_in_slices()
        kept = self.kept  # (the same, unless the floor was let go meanwhile)
        if kept is None:
            return await self.floor.conferences()
        return kept.now(now_ms())

    def kept_now(self) -> list[Json] | None:
        """`floor_now` where this hub already keeps the floor (it follows the feed for a
        watcher or the ticker, and is not reading the floor whole); None otherwise, and
        nothing is started: for what asks now and then (the history sampler), which reads
        the floor itself then."""
        kept = self.kept
        if kept is None or not self._listening or self._loading or not self._wanted():
            return None
        self._catch_up()
        return kept.now(now_ms())

    async def _run(self) -> None:
        while True:
            stop_if_asked()  # a pass's Redis call may have swallowed the cancel (core/tasks.py)
            if not self._wanted():
                self._last = None  # what it held grows stale while nobody watches
                self._stop_following()
                await self._wake.wait()
                self._passed_at = time.monotonic()  # idle is not stalled
            self._wake.clear()
            started = time.monotonic()
            seen = self.feed.last_id
            try:
                await self.run_once()
                # Rest at least a period; then go as soon as the feed moves, and at the
                # latest after clock_seconds (the "why" texts quote durations).
                await self._rest(started + self.period, seen=None)
                if self.feed.last_id == seen:
                    await self._rest(started + self.clock_seconds, seen=seen)
            except RedisError as exc:
                # The feed's position could not be read (the reader was idle): the next
                # pass tries again; the watchdog has told the watchers meanwhile.
                log.warning("board: Redis is unreachable (%s); trying again", exc)
                await pause(RETRY_SECONDS)
            except Exception:
                # This loop serves every board of the process: one failure must not end it.
                log.exception("board: a pass failed; trying again")
                await pause(RETRY_SECONDS)

    async def _watch(self) -> None:
        """Say the floor is out of reach when a pass is `stall_seconds` late while someone
        watches (a pass waits on Redis, which may take its full timeout to fail)."""
        limit = self.stall_seconds + max(self.period, self.clock_seconds)
        while True:
            await pause(self.stall_seconds / 4)
            late = time.monotonic() - self._passed_at > limit
            if late and self.views and self.error is None:
                log.warning("board: no pass for %.0f s; the floor is out of reach", limit)
                self.error = STALLED
                await self._announce()

    async def _rest(self, until: float, seen: str | None) -> None:
        # wait_for_change keeps the feed's reader following meanwhile, so a change
        # made while this rests shows in feed.last_id.
        while (left := until - time.monotonic()) > 0:
            stop_if_asked()
            if seen is not None and self.feed.last_id != seen:
                return
            await self.feed.wait_for_change(left)

    async def run_once(self, at_ms: int | None = None) -> None:
        """One pass: bring the floor up to date, work out every view, wake the watchers.
        (`at_ms`: the pass's instant, for tests; now by default.)"""
        started = time.perf_counter()
        try:
            conferences: list[dict[str, Any]] | None = None
            if self.incremental:
                # The three reads at once: each wait lets the feed's reader apply entries,
                # which would stretch the pass.
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._follow_floor())
                    counted = group.create_task(self._queued())
                    # Who hears which call in a browser (issue 26): one small hash.
                    listening = group.create_task(ears.every(self.floor.redis, self.floor.keys))
                queued, heard = counted.result(), listening.result()
            else:
                conferences = await self.floor.conferences(at_ms)
                queued = await self._queued()
                heard = await ears.every(self.floor.redis, self.floor.keys)
            browser = {sid: ears.people(found) for sid, found in heard.items()}
        except* RedisError as group:
            exc = group.exceptions[0]
            if self.error is None:  # once per outage, not once a pass
                log.warning("board: Redis is unreachable: %s", exc)
            self.error = f"The live floor is out of reach (Redis: {type(exc).__name__})"
        else:
            self.error = None
            self._passed_at = time.monotonic()
            at = at_ms if at_ms is not None else now_ms()
            cpu = time.process_time()  # no await below: all of it is this pass's
            if conferences is None:
                self._work_out_kept(at, queued, browser)
            else:
                self._work_out(conferences, at, queued, browser)
            self.pass_cpu_ms = (time.process_time() - cpu) * 1000
        self.pass_ms = (time.perf_counter() - started) * 1000
        await self._announce()

    async def _queued(self) -> int:
        return await self._queues() if self.queues is not None else 0

    async def _queues(self) -> int:
        """Callers waiting in TaskQueues (for the Floor's Waiting tile); and, while a
        wallboard watches, every queue and agent, encoded once for all of them."""
        assert self.queues is not None
        if not self.queue_watchers:
            return await self.queues.queued()
        queues, agents = await self.queues.snapshot()
        stable = orjson.dumps({"queues": queues, "agents": agents})
        if stable != self._queue_stable:
            self._queue_stable = stable
            self.queue_version += 1
            self.queue_message = stable[:-1] + b',"at":' + orjson.dumps(now_ms()) + b"}"
        return sum(q["waiting"] for q in queues)

    def _work_out(
        self,
        conferences: list[dict[str, Any]],
        at: int,
        queued: int = 0,
        browser: dict[str, list[str]] | None = None,
    ) -> None:
        everything = self._rows.entries(conferences, at / 1000, self.mask, self.country, browser)
        head = (
            b'"live":'
            + orjson.dumps(len(conferences))
            + b',"queued":'
            + orjson.dumps(queued)
            + b',"kpis":'
            + orjson.dumps(board.kpis(conferences, browser))
        )
        cues = board.cues(conferences)
        teams = {c["sid"]: c.get("team") for c in conferences} if cues else {}
        self._everything = everything
        self._last, self._summaries = (head, cues, teams), {}
        for view in list(self.views.values()):
            view.update(*self._select(view.filters), self._summary(view.scope), at)
        self.mine = board.monitors_by_supervisor(conferences)
        self.passed_ms = at

    # -- the floor kept from the feed (issue 29) ------------------------------

    def _take(self, entries: list[FeedEntry]) -> None:
        """The feed reader hands every batch here as it reads it: kept, each call's newest,
        until something reads the kept floor (live/unapplied.py), or held while the floor
        is being read whole."""
        self._read_id = entries[-1].id
        self._received += len(entries)
        floor_at = id_key(self._floor_at)
        if id_key(entries[0].id) <= floor_at:
            # Older than the floor as it was read whole (a reader catching up): left out.
            entries = [e for e in entries if id_key(e.id) > floor_at]
            if not entries:
                return
        if self.kept is None or self._loading:
            self._pending.extend(entries)
            if len(self._pending) > MAX_PENDING:
                self._pending.clear()  # a read that cannot keep up: the next one reads it all
                self._epoch = -1
            return
        self._unapplied.add(entries)
        if len(self._unapplied) >= MAX_UNAPPLIED:
            # The excess and a slice more, not all: the loop is not held for 2,000 renders.
            self._catch_up(len(self._unapplied) - MAX_UNAPPLIED + CATCH_UP_SLICE)

    async def _catch_up_in_slices(self) -> None:
        """`_catch_up` with callbacks and SSE writes let through every CATCH_UP_SLICE calls."""
        for _ in range(len(self._unapplied) // CATCH_UP_SLICE):
            self._catch_up(CATCH_UP_SLICE)
            await asyncio.sleep(0)
        self._catch_up()

    def _catch_up(self, most: int | None = None, call: str | None = None) -> None:
        """Apply what the feed changed since the kept floor was last brought up to date
        (the changes of `most` calls, or of `call` alone, or all)."""
        if self.kept is None or self._loading or not self._unapplied:
            return
        calls = len(self._unapplied)
        try:
            if call is not None:
                self._reread |= self._unapplied.apply_call(self.kept, call)
            else:
                self._reread |= self._unapplied.apply_to(self.kept, most)
        except Exception:
            log.exception(
                "board: could not apply the changes of %d calls; reading the floor", calls
            )
            self._epoch = -1  # the next pass reads the floor whole

    def _stop_following(self) -> None:
        if self._listening:
            self.feed.unlisten(self._take)
            self._listening = False
        self.kept, self._pending, self._reread = None, [], set()
        self._unapplied.clear()
        self._floor_at = "0-0"

    async def _follow_floor(self) -> None:
        """Bring the kept floor up to date from the feed, or read it whole when the feed
        cannot say what changed (start, a gap, a reset)."""
        if not self._listening:
            self._read_id, self._epoch = await self.feed.listen(self._take)
            self._listening = True
            self.kept = None
        mark, received = self._read_id, self._received  # together: entries come meanwhile
        first, last, added, live, marked = await self.floor.feed_probe(
            mark, self._mark, MARK_SECONDS
        )
        if last is None:
            added = 0  # no feed: none ever added since it began (again)
        unseen = added - received if added >= 0 else None
        miscounted = None if unseen is None else unseen != self._unseen
        kept = self.kept
        position = max(mark, self._floor_at, key=id_key)
        broke = self.feed.broke_at
        if (
            kept is not None
            and self.feed.epoch != self._epoch
            and broke is not None
            and id_key(broke) <= id_key(self._floor_at)
        ):
            self._epoch = self.feed.epoch  # it broke off before the floor was read: nothing lost
        why = (
            "start" if kept is None
            else "Redis lost this process's mark (reset)" if not marked
            else "the feed's reading broke off" if self.feed.epoch != self._epoch
            else "a gap in the feed" if _broken(position, first, last, miscounted)
            else None
        )  # fmt: skip
        if why is not None:
            if kept is not None:
                log.warning("board: reading the whole floor again: %s", why)
            self._unseen = unseen  # what follows the read below is counted from here
            self._floor_at = last or "0-0"
            await self._load()
            return
        assert kept is not None
        await self._catch_up_in_slices()
        if last == mark == self._read_id and len(kept.calls) != live:
            # Caught up with the feed, yet not the live index's calls: something changed the
            # floor without a feed entry. Read it whole.
            log.warning("board: %d calls kept, %d live; reading the floor", len(kept.calls), live)
            self._unseen = unseen
            self._floor_at = last or "0-0"
            await self._load()
            return
        reread, self._reread = self._reread, set()
        live_reread = [sid for sid in reread if sid in kept.calls]
        for doc in (await self.floor.documents(live_reread)).values():
            if kept.calls.get(str(doc.get("sid"))) is not None:
                kept.put(doc)

    async def _load(self) -> None:
        """Read the whole floor; the feed's entries from now on follow it."""
        # What was taken before the read is in it: the read supersedes it.
        self._pending, self._reread, self._epoch = [], set(), self.feed.epoch
        self._unapplied.clear()
        self._loading = True
        try:
            await self._read_whole()
        except BaseException:
            self.kept = None  # half read: the next pass reads it again
            raise
        finally:
            self._loading = False
        if self.kept is not None:
            # What came while the floor was read (each at least as new as what it read,
            # or soon followed by an entry that is).
            pending, self._pending = self._pending, []
            self._unapplied.add(pending)
            self._catch_up()

    async def _read_whole(self) -> None:
        versions = {sid: c.version for sid, c in self.kept.calls.items()} if self.kept else {}
        await self.floor.redis.set(self._mark, 1, ex=MARK_SECONDS)
        docs = await self.floor.live_documents()
        kept = BoardFloor(self.floor, self.mask, self.country, self.clock_seconds, versions)
        for n, (sid, score, raw) in enumerate(docs):
            if n % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)  # let callbacks and SSE writes through meanwhile
                # Redis answered; what is left is this process's own work, which a busy
                # process does slowly: the watchdog takes that for progress, not a stall.
                self._passed_at = time.monotonic()
            try:
                doc = orjson.loads(raw)
            except orjson.JSONDecodeError:
                kept.unreadable(sid, (score, sid))
                continue
            kept.put(doc, (score, sid))
        self.kept = kept
        self.loads += 1

    def _work_out_kept(self, at: int, queued: int, browser: dict[str, list[str]]) -> None:
        kept = self.kept
        assert kept is not None
        kept.refresh(at, browser)
        head = (
            b'"live":'
            + orjson.dumps(len(kept.calls))
            + b',"queued":'
            + orjson.dumps(queued)
            + b',"kpis":'
            + orjson.dumps(kept.kpis())
        )
        cues = kept.cues()
        teams = {c["sid"]: kept.calls[c["sid"]].rendered.get("team") for c in cues}
        self._last, self._summaries = (head, cues, teams), {}
        for view in list(self.views.values()):
            view.update(*kept.shown(view.filters), self._summary(view.scope), at)
        kept.forget(view.filters for view in self.views.values())
        self.mine = kept.monitors()
        self.passed_ms = at


def _broken(mark: str, first: str | None, last: str | None, miscounted: bool | None) -> bool:
    """Whether the feed may have lost entries after `mark` (the newest this hub was given).

    `miscounted`: the entries the feed ever had up to `mark` are not those handed to the
    hub plus the same number as before (None where Redis does not count them): entries
    were trimmed unread, or the feed began again (Redis reset, or restored from an older
    file), even when the reader has already gone on reading the new one. Otherwise by the
    ids: no feed where there was one, its newest id older than one already read, or its
    first newer (trimmed unread; a quiet floor whose every entry aged out reads so too)."""
    if last is None:
        return mark != "0-0"
    if id_key(last) < id_key(mark) or miscounted:
        return True
    if miscounted is False:
        return False
    if first is None:
        return last != mark
    return id_key(first) > id_key(mark)
