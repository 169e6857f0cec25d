"""The floor as the board hub keeps it between passes: followed from the change feed.

Reading the whole floor on every board pass costs the size of the floor (issue 29:
10,000 documents read, compared and their alerts worked out, twice a second), though
each feed entry already carries the document that changed. `BoardFloor` keeps every
live call in memory instead, as the full read would render it, and a pass costs what
changed:

- a `conference` entry replaces one call (rendered once), `conference-ended` removes
  it; a final transcript line that became the call's last line (which changes without
  a `conference` entry, live/transcript.lua: its entry says so) is set on the kept call
  as a read would render it, without reading or rendering the call again; any other
  final line (one that came late, a corrected one sent again) has its call re-read;
- alerts that move with the clock (long hold, dead air, overtalk, long call, long
  wait) are worked out again when one of them is due to cross its threshold
  (`AlertClock.next_change`, a heap of instants), not for every call every pass;
- a row is made only for a call some view shows; the part of it that moves with the
  clock (the durations a "why" quotes, the talk share while someone speaks) is redone
  on each pass that shows it, as the full read did; out of view, only a waiting
  caller's rank moves with the clock, checked once per clock pass;
- the KPIs are counts kept as calls come, change and go (the oldest call and the oldest
  wait from heaps), the help cues and supervisors' legs come from the few calls that
  have them, and each view's order is a sorted list that a changed call moves in.

The hub reads the floor whole only at start, after a gap in the feed, or when Redis
was reset (live/board_hub.py); `load` is that read. What a view shows is the same as
a full read's, row for row and in the same order (tests/live/test_board_floor.py compares
them after random changes).
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from core.documents import Line
from core.times import ms_of
from live import board
from live.attention import (
    WhyPieces,
    attention,
    held_since,
    rank,
    score_of,
    waiting_score,
    why_at,
    why_pieces,
)
from live.board import Entry, Filters
from live.model import AlertClock, Json, Thresholds, render_with_clock, unreadable
from live.store import LiveFloor
from live.transcript_view import final_json

OrderKey = tuple[int, str]  # the live index's order: (started ms, sid)


@dataclass(slots=True, eq=False)
class Call:
    """One live call: its document, its rendering and its row, and when they move next."""

    sid: str
    doc: Mapping[str, Any]
    order: OrderKey
    rendered: Json  # as LiveFloor.conferences() returns it, alerts and signals at `at`
    clock: AlertClock | None
    limits: Thresholds | None
    base_alerts: list[str]  # its alerts that are no clock's (an unreadable document's)
    version: int
    ears: tuple[str, ...] = ()
    duplicate: bool = False
    rank: tuple[int, int, str] = (0, 0, "")  # live.attention's order, as of its alerts
    alerts_shown: str | None = None  # its alerts as its row says them (None: not yet)
    # Its row, worked out only while a view shows it: None until then or after its document
    # or listeners changed; `stale` once its alerts moved (the row is brought up to date
    # when next shown, from the same rendering), and its durations move with each clock pass.
    entry: Entry | None = None
    stale: bool = False
    signals_due: bool = False  # its signals are worked out when its row is (or its rank needs)
    entry_at: int = 0  # ms its row was worked out at
    # What its row's clock-moved parts were made from (`_moved`): while this stays the same,
    # the row is the same bytes, and a pass reuses it rather than redoing it.
    moving: tuple[Any, ...] | None = None
    stamps: tuple[int | None, ...] = ()  # the instants (ms) its row's durations count from
    # Its place in the views' orders as last placed (`_place_key`): a change that moves
    # none of it (most speech events) moves it in no view.
    placed: tuple[Any, ...] | None = None
    due: int | None = None  # when its alerts next change with the clock alone
    wait_score: int | None = None  # a waiting caller's part of the score (live.attention)
    # Its reasons as `live.attention.why_pieces` (None: worked out whole), and the alerts
    # (and whether a waiting caller's wait is a reason) they were made for.
    why_pieces: WhyPieces | None = None
    why_key: tuple[Any, ...] | None = None

    @property
    def ticks(self) -> bool:
        """Its row shows something that moves with the clock (a duration in its reasons,
        a waiting caller's wait, the talk share while someone speaks)."""
        r = self.rendered
        return (
            bool(r["alerts"])
            or r.get("state") == "waiting"
            or bool(self.clock is not None and self.clock.speaking)
        )


def _view_key(filters: Filters, call: Call) -> tuple[Any, ...]:
    """The sort key of `board.select` for this order, then the floor's order (select sorts
    the floor's list, oldest first, and Python's sort is stable, even reversed)."""
    c = call.rendered
    if filters.order == "longest":
        return (c.get("started_at") or "", call.order)
    if filters.order == "newest":
        started = board.ms(c.get("started_at"))
        return (-started if started is not None else 1, call.order)
    if filters.order == "agent":
        return (not c.get("agent"), board.agent_key(c), c.get("started_at") or "", call.order)
    return (call.rank, call.order)


def _place_key(call: Call) -> tuple[Any, ...]:
    """Everything a view filters or orders a call by (board.PLACED_BY, beside `Filters.keeps`)."""
    c = call.rendered
    return (call.rank, *(c.get(name) for name in board.PLACED_BY))


@dataclass(eq=False)
class Ordering:
    """One set of filters' calls, in its order: a sorted list a changed call moves in."""

    filters: Filters
    keys: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    sorted: list[tuple[tuple[Any, ...], str]] = field(default_factory=list)

    def place(self, call: Call) -> None:
        old = self.keys.get(call.sid)
        new = _view_key(self.filters, call) if self.filters.keeps(call.rendered) else None
        if old == new:
            return
        if old is not None:
            at = bisect.bisect_left(self.sorted, (old, call.sid))
            del self.sorted[at]
            del self.keys[call.sid]
        if new is not None:
            bisect.insort(self.sorted, (new, call.sid))
            self.keys[call.sid] = new

    def remove(self, sid: str) -> None:
        old = self.keys.pop(sid, None)
        if old is not None:
            del self.sorted[bisect.bisect_left(self.sorted, (old, sid))]


class BoardFloor:
    """Every live call, kept from the feed; rows, KPIs and orders that follow the change."""

    def __init__(
        self,
        floor: LiveFloor,
        mask: bool,
        country: str | None = None,
        clock_seconds: float = 1.0,
        versions: Mapping[str, int] | None = None,
    ) -> None:
        self.floor, self.mask, self.country = floor, mask, country
        # Each call's version goes on from the floor this one replaces (a reload after a
        # gap): a page that follows a call must see it move, never the same number again.
        self._versions = dict(versions or {})
        self.clock_ms = int(clock_seconds * 1000)
        self.calls: dict[str, Call] = {}
        self.orderings: dict[Filters, Ordering] = {}
        self._due: list[tuple[int, str]] = []  # (instant, sid): a call's alerts move then
        self._names: dict[str, set[str]] = {}  # friendly name -> live sids (duplicates)
        self._renamed: set[str] = set()  # names whose duplicates must be worked out again
        self._dirty: set[str] = set()  # calls whose alerts and row are redone this pass
        self._ears: dict[str, tuple[str, ...]] = {}
        self._ticked_at = 0  # the last clock pass (ms)
        self._at = 0  # this pass's instant (ms)
        # KPIs, kept as calls come, change and go.
        self._counts = {"waiting": 0, "on_hold": 0, "monitored": 0}
        self._oldest: list[tuple[str, str]] = []  # (started_at, sid), stale ones skipped
        self._oldest_waiting: list[tuple[str, str]] = []
        self._waiting: set[str] = set()
        self._cued: set[str] = set()  # calls asking for help or with a phrase alert
        self._monitored: set[str] = set()

    # -- what changed ------------------------------------------------------

    def put(self, doc: Mapping[str, Any], order: OrderKey | None = None) -> None:
        """A live call's document as it is now (an ended one leaves the floor)."""
        sid = str(doc.get("sid", ""))
        if doc.get("status") == "completed":
            self.drop(sid)
            return
        old = self.calls.get(sid)
        if old is not None and old.doc == doc:
            return  # announced again as it was (the alert ticker): nothing moved
        try:
            rendered, clock = render_with_clock(doc, self.floor.roster)
            limits = self.floor.limits(rendered["team"]) if clock is not None else None
        except Exception:
            self.floor._report_unreadable(sid)
            rendered, clock, limits = unreadable(sid), None, None
        if order is None:
            order = (int(doc.get("started") or 0), sid)
        # Most changes are speech on a call that keeps its name: its duplicate group stays
        # as it was, and only a leg joining or leaving can move its `duplicate` alert.
        before = old.rendered if old is not None else None
        named = before is not None and before["friendly_name"] == rendered["friendly_name"]
        call = Call(
            sid, doc, order, rendered, clock, limits, list(rendered["alerts"]),
            version=(old.version if old is not None else self._versions.pop(sid, 0)) + 1,
            ears=old.ears if old is not None else (),
            duplicate=named and old is not None and old.duplicate,
            placed=old.placed if old is not None else None,
        )  # fmt: skip
        if old is not None:
            self._count(old, -1)
            if not named:
                self._rename(old, None)
        self.calls[sid] = call
        self._count(call, +1, old)
        if not named:
            self._rename(None, call)
        elif before is not None and len(before["participants"]) != len(rendered["participants"]):
            self._renamed.add(rendered["friendly_name"])
        self._dirty.add(sid)

    def last_line(self, sid: str, line: Mapping[str, Any]) -> bool:
        """A final transcript line that became the call's last line (its feed entry says so,
        live/transcript.lua): only the last line moves, so the call is not read or rendered
        again (a Japanese floor's finals cost a read and a render each: issue 23). Its
        document and rendering take the line as the script wrote it and a read renders it.
        False when the call is kept as something this cannot patch (the caller reads it)."""
        call = self.calls.get(sid)
        if call is None:
            return True  # not on the floor kept here (ended, or not come yet): nothing shown
        tx = call.doc.get("tx") or {}
        shown = call.rendered.get("transcript")
        if not isinstance(tx, Mapping) or not isinstance(shown, dict):
            return False  # an unreadable document: a read says what to show
        if not all(k in line for k in ("s", "t", "at")):
            return False  # not a line as the script writes it: a read says
        last = {"s": line["s"], "t": line["t"], "at": line["at"]}
        call.doc = {**call.doc, "tx": {**tx, "last": last}}
        said = final_json(Line(speaker=line["s"], text=line["t"], at=line["at"]))
        call.rendered["transcript"] = {**shown, "last": said}
        # Its alerts, rank and place do not move with what was said (no pass works them out
        # again); its row shows the line, and is made again when a view shows it.
        call.version += 1
        call.entry = None
        return True

    def unreadable(self, sid: str, order: OrderKey) -> None:
        """A live call whose document is not JSON at all: one flagged row (as the full read)."""
        self.floor._report_unreadable(sid)
        self.drop(sid)
        rendered = unreadable(sid)
        call = Call(sid, {}, order, rendered, None, None, list(rendered["alerts"]),
                    version=self._versions.pop(sid, 0) + 1)  # fmt: skip
        self.calls[sid] = call
        self._count(call, +1)
        self._dirty.add(sid)

    def drop(self, sid: str) -> None:
        old = self.calls.pop(sid, None)
        if old is None:
            return
        self._count(old, -1)
        self._rename(old, None)
        self._dirty.discard(sid)
        self._cued.discard(sid)
        for ordering in self.orderings.values():
            ordering.remove(sid)

    def _count_monitored(self, call: Call, sign: int) -> None:
        """Monitored (the tile): a supervisor on it by phone, or someone hearing it in a
        browser. `_monitored` holds the calls with a phone monitor (whose supervisors
        `mine` names), in and out with the call as `_waiting` is."""
        phones = bool(call.rendered.get("monitors"))
        if phones or call.ears:
            self._counts["monitored"] += sign
        (self._monitored.add if sign > 0 and phones else self._monitored.discard)(call.sid)

    def _count(self, call: Call, sign: int, was: Call | None = None) -> None:
        """Count `call` in (+1) or out (-1) of the KPIs; `was`, the call it replaces, whose
        entries in the oldest-first heaps still hold where the start (and waiting) did not
        move: a speech event pushes nothing, so the heaps are rebuilt less often."""
        r = call.rendered
        state = r.get("state")
        if state == "waiting":
            self._counts["waiting"] += sign
            (self._waiting.add if sign > 0 else self._waiting.discard)(call.sid)
        elif state == "hold":
            self._counts["on_hold"] += sign
        self._count_monitored(call, sign)
        started = r.get("started_at")
        if sign > 0 and started:
            # An entry is dropped from a heap only once untrue (`_first`): one made for `was`
            # with the same start is still there, and true.
            before = was.rendered if was is not None else {}
            kept = before.get("started_at") == started
            if not kept:
                heapq.heappush(self._oldest, (started, call.sid))
            if state == "waiting" and not (kept and before.get("state") == "waiting"):
                heapq.heappush(self._oldest_waiting, (started, call.sid))

    def _rename(self, old: Call | None, new: Call | None) -> None:
        for call, add in ((old, False), (new, True)):
            name = call.rendered["friendly_name"] if call is not None else ""
            if not name:
                continue
            group = self._names.setdefault(name, set())
            if add:
                group.add(call.sid)  # type: ignore[union-attr]
            else:
                group.discard(call.sid)  # type: ignore[union-attr]
            self._renamed.add(name)

    # -- a pass ------------------------------------------------------------

    def refresh(self, at_ms: int, browser: Mapping[str, Sequence[str]] | None = None) -> None:
        """Bring every call that moved up to `at_ms`: changed documents, who hears it in a
        browser, duplicates, alerts whose threshold came, and (once per clock pass) the
        rows that tick."""
        self._at = at_ms
        ears = {sid: tuple(who) for sid, who in (browser or {}).items() if who}
        for sid in set(ears) | set(self._ears):
            call = self.calls.get(sid)
            if call is not None and call.ears != ears.get(sid, ()):
                self._count_monitored(call, -1)
                call.ears = ears.get(sid, ())
                self._count_monitored(call, +1)
                call.version += 1
                call.entry = None
        self._ears = ears
        for name in self._renamed:
            group = self._names.get(name) or set()
            if not group:
                self._names.pop(name, None)
            for sid in group:
                call = self.calls[sid]
                dup = len(group) > 1 and len(call.rendered["participants"]) == 1
                if dup != call.duplicate:
                    call.duplicate = dup
                    self._dirty.add(sid)
        self._renamed.clear()
        while self._due and self._due[0][0] <= at_ms:
            due, sid = heapq.heappop(self._due)
            call = self.calls.get(sid)
            if call is not None and call.due == due:
                self._dirty.add(sid)
        if at_ms - self._ticked_at >= self.clock_ms:
            # The rows that tick are redone as views show them (`_row`, every pass); out of
            # view, only a waiting caller's rank moves with the clock.
            self._ticked_at = at_ms
            for sid in self._waiting - self._dirty:
                # Out of view, a waiting caller's row waits; its rank moves as its score does.
                call = self.calls[sid]
                if self._wait_score(call) != call.wait_score:
                    self._dirty.add(sid)
        self._settle()
        self._compact()

    def _settle(self) -> None:
        """Work out every call marked as moved, and move it in each view's order."""
        moved = []
        for sid in self._dirty:
            call = self.calls[sid]
            self._work_out(call)
            key = _place_key(call)
            if key != call.placed:
                call.placed = key
                moved.append(call)
        for ordering in self.orderings.values():
            for call in moved:
                ordering.place(call)
        self._dirty.clear()

    def _compact(self) -> None:
        """Heaps keep stale entries until they come to the top: rebuilt now and then, so
        they stay the size of the floor however many changes went by."""
        bound = 2 * len(self.calls) + 64
        if len(self._due) > bound:
            self._due = [(c.due, c.sid) for c in self.calls.values() if c.due is not None]
            heapq.heapify(self._due)
        if len(self._oldest) > bound or len(self._oldest_waiting) > bound:
            self._oldest, self._oldest_waiting = [], []
            for c in self.calls.values():
                if started := c.rendered.get("started_at"):
                    self._oldest.append((started, c.sid))
                    if c.sid in self._waiting:
                        self._oldest_waiting.append((started, c.sid))
            heapq.heapify(self._oldest)
            heapq.heapify(self._oldest_waiting)

    def _work_out(self, call: Call) -> None:
        """Its alerts and signals at this pass's instant, and its rank; its row waits until
        a view shows it."""
        at, r = self._at, call.rendered
        if call.clock is not None:
            assert call.limits is not None
            alerts = call.clock.alerts(at, call.limits)
            if r.get("state") == "waiting":  # its wait share is part of its rank
                r["signals"] = call.clock.signals(at, call.limits)
            else:
                call.signals_due = True
            due = call.clock.next_change(at, call.limits)
            if due is not None and due != call.due:
                heapq.heappush(self._due, (due, call.sid))
            call.due = due
        else:
            alerts = list(call.base_alerts)
        if call.duplicate:
            alerts.append("duplicate")
        r["alerts"] = alerts
        call.wait_score = self._wait_score(call)
        call.rank = rank(score_of(r), r.get("state"), r.get("started_at"))
        shown = board.alerts(r)
        if call.alerts_shown is not None and shown != call.alerts_shown:
            call.version += 1  # a page that follows the call redraws when its alerts move
        call.alerts_shown, call.stale = shown, True
        if r.get("help") or "phrase" in alerts:
            self._cued.add(call.sid)
        else:
            self._cued.discard(call.sid)

    def _row(self, call: Call) -> Entry:
        """Its row as of this pass: made whole when its rendering is new; else only what
        moves with the clock and its alerts (reasons, score, alerts, talk share) is redone."""
        old, at = call.entry, self._at
        if old is not None and not call.stale and not (call.ticks and call.entry_at < at):
            return old
        moving = None
        if call.entry_at < at and call.ticks:
            moving = self._moved(call)
            if old is not None and not call.stale and moving == call.moving:
                # The clock moved, but not across a second a duration quotes, a percent of
                # the talk share or a point of a waiting caller's score: the same bytes.
                call.entry_at = at
                return old
            if call.rendered.get("state") == "waiting" and moving[2] != call.wait_score:
                ranked = call.rank
                self._work_out(call)  # its signals as of now, and its score with them
                if call.rank != ranked:  # a waiting caller's score moved since the clock pass
                    for ordering in self.orderings.values():
                        ordering.place(call)
                    call.placed = _place_key(call)
            else:
                # Its alerts are those of now (the pass worked them out when one was due),
                # and so is its rank (a waiting caller's score is as it was ranked): only
                # its signals (the talk share, the wait share) move.
                call.signals_due = True
        r = call.rendered
        if call.signals_due and call.clock is not None:
            assert call.limits is not None
            r["signals"] = call.clock.signals(at, call.limits)
        call.signals_due = False
        if (call.ticks or old is not None) and not call.stamps:
            # Fixed with its rendering (the clock's instants), as its signals now say them.
            signals = r.get("signals") or {}
            call.stamps = tuple(
                ms_of(stamp) if stamp else None
                for stamp in (held_since(r), r.get("started_at"),
                              signals.get("silent_since"), signals.get("waiting_since"))
            )  # fmt: skip
            moving = None
        if old is None:
            entry = board._entry(r, at / 1000, self.mask, self.country, call.ears)
        else:
            seconds = moving[0] if moving is not None else self._moved(call)[0]
            entry = self._redone(call, old, seconds)
        call.entry, call.entry_at, call.stale = entry, at, False
        if call.ticks:
            call.moving = moving if moving is not None else self._moved(call)
        return entry

    def _redone(self, call: Call, old: Entry, seconds: tuple[int | None, ...]) -> Entry:
        """Its row from `old` (the same rendering), with what moves with the clock and its
        alerts redone: alerts, score, reasons, talk share. On a second's turn every ticking
        row's reasons move at once (hundreds of rows), mostly nothing else: the reasons
        are filled in from `why_pieces` and spliced into the old row's bytes (the why
        is the row's last field) rather than the row encoded again. `seconds`: the durations
        its reasons may quote, as of this pass (`_moved`)."""
        r, at = call.rendered, self._at
        signals = r.get("signals") or {}
        key = (
            tuple(r["alerts"]),
            r.get("state") == "waiting" and signals.get("wait_share") is not None,
        )
        if key != call.why_key:
            call.why_key, call.why_pieces = key, why_pieces(r)
        alerts = call.alerts_shown if call.alerts_shown is not None else board.alerts(r)
        score, talk = score_of(r), board.agent_talk(r)
        if call.why_pieces is None:
            why = "; ".join(attention(r, at / 1000).reasons)
        else:
            why = why_at(call.why_pieces, seconds)
        row = dict(old.row, alerts=alerts, score=score, why=why, talk=talk)
        was = old.row
        tail = orjson.dumps(was["why"]) + b"}"
        if (
            alerts == was["alerts"] and score == was["score"] and talk == was["talk"]
            and old.wire.endswith(tail)
        ):  # fmt: skip
            wire = old.wire[: -len(tail)] + orjson.dumps(why) + b"}"
        else:
            wire = orjson.dumps(row)
        return Entry(r, row, wire, call.rank, at / 1000, self.mask, self.country, call.ears)

    def _moved(self, call: Call) -> tuple[Any, ...]:
        """What a ticking row's clock-moved parts are made of at this pass's instant: the
        whole seconds of each duration its reasons may quote (live.attention `clock`), the
        agent's talk share while someone speaks (board.agent_talk), a waiting caller's
        score. Equal from one pass to the next: the row is the same."""
        now_s, clock = self._at / 1000, call.clock
        share = None
        if clock is not None and clock.speaking:
            share = clock._talk(self._at)[1].get("agent")
        # As live.attention's seconds_since works them out (the same float arithmetic, so
        # a second ticks over here exactly when the reason's text does), from instants
        # parsed once.
        seconds = tuple(
            int(max(0.0, now_s - ms / 1000)) if ms is not None else None for ms in call.stamps
        )
        return seconds, share, self._wait_score(call)

    def _wait_score(self, call: Call) -> int | None:
        """What waiting adds to its score now (as live.attention works it out from the
        signals' `wait_share`), without the rest of its row."""
        clock, limits = call.clock, call.limits
        if clock is None or clock.waiting_since is None or limits is None or limits.long_wait <= 0:
            return None
        if call.rendered.get("state") != "waiting":
            return None
        return waiting_score(round((self._at - clock.waiting_since) / (limits.long_wait * 1000), 3))

    # -- what a pass shows -------------------------------------------------

    def ordering(self, filters: Filters) -> Ordering:
        """The calls `filters` keep, in order (made from the whole floor the first time)."""
        key = Filters(filters.teams, filters.queues, filters.states, filters.agent, filters.order)
        found = self.orderings.get(key)
        if found is None:
            found = self.orderings[key] = Ordering(key)
            for call in self.calls.values():
                found.place(call)
        return found

    def forget(self, keep: Iterable[Filters]) -> None:
        """Drop the orders no view needs any more."""
        wanted = {Filters(f.teams, f.queues, f.states, f.agent, f.order) for f in keep}
        for key in [k for k in self.orderings if k not in wanted]:
            del self.orderings[key]

    def shown(self, filters: Filters) -> tuple[list[Entry], int]:
        """The first `filters.limit` entries of the view, each up to date, and how many match."""
        if self._dirty:
            self._settle()  # changes that came since the last pass (a view made between two)
        ordering = self.ordering(filters)
        out = []
        for _, sid in ordering.sorted[: filters.limit]:
            out.append(self._row(self.calls[sid]))
        return out, len(ordering.sorted)

    def now(self, at_ms: int) -> list[Json]:
        """Every live call as the full read renders it at `at_ms` (its alerts as of then; its
        signals as of its row's last pass), in no particular order: for the ticker's jobs."""
        self.refresh(max(at_ms, self._at), self._ears)
        return [c.rendered for c in self.calls.values()]

    def conferences(self) -> list[Json]:
        """Every live call as the full read renders it, oldest first (for tests)."""
        return [c.rendered for c in sorted(self.calls.values(), key=lambda c: c.order)]

    def kpis(self) -> dict[str, Any]:
        """`board.kpis` of the floor, from what was counted."""
        oldest = self._first(self._oldest, waiting=False)
        waiting = self._first(self._oldest_waiting, waiting=True)
        return {
            "live": len(self.calls), "waiting": self._counts["waiting"],
            "on_hold": self._counts["on_hold"], "monitored": self._counts["monitored"],
            "oldest_call_ms": board.ms(oldest), "oldest_wait_ms": board.ms(waiting),
        }  # fmt: skip

    def _first(self, heap: list[tuple[str, str]], waiting: bool) -> str | None:
        """The heap's oldest entry that is still true (stale ones are dropped on the way)."""
        while heap:
            started, sid = heap[0]
            call = self.calls.get(sid)
            if (
                call is not None
                and call.rendered.get("started_at") == started
                and (not waiting or call.rendered.get("state") == "waiting")
            ):
                return started
            heapq.heappop(heap)
        return None

    def _in_order(self, sids: Iterable[str]) -> list[Json]:
        return [c.rendered for c in sorted((self.calls[s] for s in sids), key=lambda c: c.order)]

    def cues(self) -> list[dict[str, Any]]:
        return board.cues(self._in_order(self._cued))

    def monitors(self) -> dict[str, dict[str, Any]]:
        return board.monitors_by_supervisor(self._in_order(self._monitored))

    def version(self, sid: str) -> int | None:
        call = self.calls.get(sid)
        return call.version if call is not None else None
