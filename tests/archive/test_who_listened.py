"""archive/record.py `monitors_of`: who listened to a call, from its audit entries.

A supervisor on a phone leg (join, switch, leave) and one hearing the call in a browser
(`listen` to `listen-end`, each tab audited) both listened: the archived record says so, and
its `monitored` flag (the archive's search filter) with it."""

from __future__ import annotations

from typing import Any

from archive.record import monitors_of

END = "T+9"


def entry(n: int, action: str, who: str, mode: str = "", outcome: str = "ok") -> dict[str, Any]:
    # Stream ids order the entries; `at` is only carried into the spans.
    return {"id": f"{n:04d}-0", "at": f"T+{n}", "action": action, "supervisor": who,
            "mode": mode, "outcome": outcome}  # fmt: skip


def test_phone_legs_and_browser_tabs_both_make_spans() -> None:
    audit = [
        entry(1, "join", "ana", "listen"),
        entry(2, "listen", "quincy"),  # QA opens the call in a tab
        entry(3, "switch", "ana", "whisper"),
        entry(4, "listen", "quincy"),  # and in a second tab
        entry(5, "listen-end", "quincy"),  # the first tab closes: still hearing it
        entry(6, "leave", "ana"),
        entry(7, "listen-end", "quincy"),  # the last tab closes
        entry(8, "listen", "mina"),  # never closed: until the call ended
        entry(8, "join", "ken", "barge", outcome="refused"),  # refused: no span
    ]
    spans = [(s["supervisor"], s["mode"], s.get("how"), s["from"], s["until"])
             for s in monitors_of(audit, END)]  # fmt: skip
    assert spans == [
        ("ana", "listen", None, "T+1", "T+3"),
        ("quincy", "listen", "browser", "T+2", "T+7"),
        ("ana", "whisper", None, "T+3", "T+6"),
        ("mina", "listen", "browser", "T+8", END),
    ]


def test_a_close_without_an_opening_makes_no_span() -> None:
    """The audit kept from the call's start on: a tab opened before it may close after."""
    audit = [entry(1, "listen-end", "quincy"), entry(2, "listen", "quincy"),
             entry(3, "listen-end", "quincy")]  # fmt: skip
    assert [(s["from"], s["until"]) for s in monitors_of(audit, END)] == [("T+2", "T+3")]
