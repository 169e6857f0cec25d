"""The feed's changes kept for the board's kept floor (live/unapplied.py): each call's
newest, applied in the order a read's batch was, whole or in slices."""

from __future__ import annotations

from typing import Any, cast

import orjson

from live.board_floor import BoardFloor
from live.store import FeedEntry
from live.unapplied import Unapplied


class Recorder:
    """Stands in for the kept floor: what was applied to it, in order."""

    def __init__(self, patchable: bool = True) -> None:
        self.done: list[tuple[str, str, Any]] = []
        self.patchable = patchable

    def put(self, doc: dict[str, Any]) -> None:
        self.done.append(("put", doc["sid"], doc["n"]))

    def drop(self, sid: str) -> None:
        self.done.append(("drop", sid, None))

    def last_line(self, sid: str, line: dict[str, Any]) -> bool:
        self.done.append(("line", sid, line["t"]))
        return self.patchable


def entry(n: int, event: str, sid: str, **doc: Any) -> FeedEntry:
    return FeedEntry(f"1-{n}", event, sid, orjson.dumps({"sid": sid, "n": n, **doc}))


def test_each_call_is_applied_once_as_its_newest_change() -> None:
    unapplied = Unapplied()
    unapplied.add([entry(1, "conference", "CF1"), entry(2, "conference", "CF2")])
    unapplied.add([entry(3, "conference", "CF1"), entry(4, "conference-ended", "CF2")])
    unapplied.add([entry(5, "conference", "CF1")])
    assert len(unapplied) == 2
    kept = Recorder()
    assert unapplied.apply_to(cast(BoardFloor, kept)) == set()
    assert kept.done == [("put", "CF1", 5), ("drop", "CF2", None)]
    assert len(unapplied) == 0


def test_a_line_goes_after_its_calls_document_unless_a_newer_document_holds_it() -> None:
    unapplied = Unapplied()
    unapplied.add([entry(1, "conference", "CF1"), entry(2, "transcript", "CF1", f=1, l=1, t="a")])
    # CF2's line came before its newest document, which holds it: no patch.
    unapplied.add([entry(3, "transcript", "CF2", f=1, l=1, t="b"), entry(4, "conference", "CF2")])
    # A final that does not say it became the last line: the call is read again.
    unapplied.add([entry(5, "transcript", "CF3", f=1, t="c")])
    kept = Recorder()
    assert unapplied.apply_to(cast(BoardFloor, kept)) == {"CF3"}
    assert kept.done == [("put", "CF1", 1), ("put", "CF2", 4), ("line", "CF1", "a")]


def test_in_slices_the_lines_wait_for_every_document() -> None:
    unapplied = Unapplied()
    unapplied.add([entry(n, "conference", f"CF{n}") for n in range(5)])
    unapplied.add([entry(9, "transcript", "CF0", f=1, l=1, t="said")])
    kept = Recorder(patchable=False)
    assert unapplied.apply_to(cast(BoardFloor, kept), 2) == set()
    assert unapplied.apply_to(cast(BoardFloor, kept), 2) == set()
    assert [d[1] for d in kept.done] == ["CF0", "CF1", "CF2", "CF3"]
    # The last slice applies the last document, then the line (which could not be patched).
    assert unapplied.apply_to(cast(BoardFloor, kept), 2) == {"CF0"}
    assert kept.done[-2:] == [("put", "CF4", 4), ("line", "CF0", "said")]
    assert len(unapplied) == 0


def test_one_call_applied_alone_leaves_the_others() -> None:
    unapplied = Unapplied()
    unapplied.add([entry(1, "conference", "CF1"), entry(2, "conference", "CF2")])
    unapplied.add([entry(3, "transcript", "CF1", f=1, l=1, t="said")])
    kept = Recorder()
    assert unapplied.apply_call(cast(BoardFloor, kept), "CF1") == set()
    assert kept.done == [("put", "CF1", 1), ("line", "CF1", "said")]
    assert len(unapplied) == 1
    assert unapplied.apply_call(cast(BoardFloor, kept), "CF9") == set()  # nothing of it
    assert unapplied.apply_to(cast(BoardFloor, kept)) == set()
    assert kept.done[-1] == ("put", "CF2", 2)
    # A line that cannot be patched: the call is read again at the next catch-up.
    unapplied.add([entry(4, "transcript", "CF2", f=1, l=1, t="late")])
    assert unapplied.apply_call(cast(BoardFloor, Recorder(patchable=False)), "CF2") == {"CF2"}
