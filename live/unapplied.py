"""What the feed changed since the kept floor was last brought up to date: each call's newest.

The board hub keeps the floor from the feed (live/board_floor.py, issue 29). Applying an
entry renders the call's document again (~30 us on a floor's mix, most of what following
the feed costs), and a call that talks sends an entry a second or more: rendering each one
as it came was ~44 us of the callback service's CPU a callback, a third of it (bench.ingest
with the ticker's floor read from Redis instead: 1.34x the callbacks a second at 32
connections, 1.43x at 256). Yet nothing shows a call's row between passes: the board's
views are worked out at a pass, the ticker's alerts at a tick. So entries are kept here as
they come, each call's newest only (a dict, so its size is the live calls, never the
entries), and applied when something is about to read the kept floor: the pass, the
ticker's `floor_now`, a page's call version. A call that changed five times since is
rendered once.

A transcript line's entry follows the rules `BoardHub` had for a read's batch: a final line
that became the call's last line patches the kept call (no render) unless a newer document
of the call came after it; one that does not say so (a corrected line) has the call read
again.
"""

from __future__ import annotations

from itertools import islice

from live.board_floor import BoardFloor
from live.store import FeedEntry


class Unapplied:
    """Feed entries not applied to the kept floor yet, each call's newest."""

    __slots__ = ("_lines", "_newest", "_reread")

    def __init__(self) -> None:
        self._newest: dict[str, FeedEntry] = {}  # a call's newest document (or its end)
        self._lines: dict[str, FeedEntry] = {}  # its newest line that became its last line
        self._reread: set[str] = set()  # calls to read again: a line the entry cannot patch

    def __len__(self) -> int:
        """How many calls have something to apply."""
        return len(self._newest) + len(self._lines) + len(self._reread)

    def add(self, entries: list[FeedEntry]) -> None:
        newest, lines = self._newest, self._lines
        for entry in entries:
            event = entry.event
            if event == "conference" or event == "conference-ended":
                newest[entry.sid] = entry
                lines.pop(entry.sid, None)  # its document holds the lines before it
            elif event == "transcript" and entry.doc.get("f"):
                if entry.doc.get("l"):
                    lines[entry.sid] = entry
                else:  # (a corrected line sent again, or a script that does not say)
                    self._reread.add(entry.sid)

    def clear(self) -> None:
        self._newest.clear()
        self._lines.clear()
        self._reread.clear()

    def apply_call(self, kept: BoardFloor, sid: str) -> set[str]:
        """Apply one call's newest to `kept` (what a page that follows that call asks for);
        returns it where its final line could not be patched in (to read again)."""
        entry = self._newest.pop(sid, None)
        if entry is not None:
            _put(kept, entry)
        line = self._lines.pop(sid, None)
        return {sid} if line is not None and not kept.last_line(sid, line.doc) else set()

    def apply_to(self, kept: BoardFloor, most: int | None = None) -> set[str]:
        """Apply the newest of every call (or of `most` calls) to `kept` and forget them;
        returns the calls to read again (a final line the entry could not patch in). The
        lines wait until every call's document is applied: a line goes after its call's."""
        newest = self._newest
        if most is None or most >= len(newest):
            self._newest = {}
        else:
            newest = {sid: self._newest.pop(sid) for sid in list(islice(self._newest, most))}
        for entry in newest.values():
            _put(kept, entry)
        if self._newest:
            return set()
        lines, reread = self._lines, self._reread
        self._lines, self._reread = {}, set()
        for sid, entry in lines.items():
            if not kept.last_line(sid, entry.doc):
                reread.add(sid)
        return reread


def _put(kept: BoardFloor, entry: FeedEntry) -> None:
    """A call's newest document on the kept floor, or its end off it."""
    if entry.event == "conference-ended":
        kept.drop(entry.sid)
    else:
        kept.put(entry.doc)
