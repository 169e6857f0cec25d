"""archive/playback.py: "play from here" finds a transcript line in the recording's file.

The recording starts when an agent is with the customer (after the queue), and a payment's
pause is skipped out of the file (PauseBehavior=skip): a line's place in the file is its
time since the recording started, less the skipped time before it."""

from __future__ import annotations

import time
from typing import Any

from archive.playback import offset, paused_spans, skipped
from core.times import iso

# Any instant, to the second (as the archive's times are): every time below is relative to it.
CALL_START = int(time.time()) * 1000


def at(seconds: float) -> str:
    """The ISO time `seconds` into the call."""
    iso_time = iso(CALL_START + int(seconds * 1000))
    assert iso_time is not None
    return iso_time


def entry(n: int, action: str, seconds: float, outcome: str = "ok") -> dict[str, Any]:
    return {"id": f"{n:04d}-0", "at": at(seconds), "action": action, "outcome": outcome}


# The caller waited 120 s in the queue; the agent's recording started then.
RECORDING = {"sid": "RE1", "started_at": at(120), "duration": 600}


def test_a_line_plays_at_its_time_since_the_recording_started_not_the_call() -> None:
    assert offset(RECORDING, at(150), at(0)) == 30
    # Said before the recording began (in the queue's announcement): its start.
    assert offset(RECORDING, at(60), at(0)) == 0


def test_the_skipped_pause_is_taken_off_every_line_after_it() -> None:
    pauses = paused_spans(
        [entry(1, "transcript-paused", 160), entry(2, "transcript-resumed", 190)], at(700)
    )
    rec = {**RECORDING, "skipped": skipped(RECORDING, pauses)}
    assert offset(rec, at(150), at(0)) == 30  # before the payment: as it was
    assert offset(rec, at(220), at(0)) == 70  # 100 s after the start, 30 s of them skipped
    assert offset(rec, at(175), at(0)) == 40  # inside the pause: where the file resumes


def test_a_line_past_the_files_end_plays_its_last_second() -> None:
    assert offset({**RECORDING, "duration": 20}, at(400), at(0)) == 19


def test_a_recording_without_its_start_counts_from_the_call() -> None:
    assert offset({"sid": "RE2", "duration": None}, at(42), at(0)) == 42
    assert offset({"sid": "RE2"}, None, at(0)) == 0


def test_pauses_pair_in_order_and_one_never_resumed_runs_to_the_end() -> None:
    audit = [
        entry(4, "transcript-paused", 300),  # never resumed: until the call ended
        entry(1, "transcript-paused", 10),
        entry(2, "transcript-paused", 20),  # a second pause while paused: no new span
        entry(3, "transcript-resumed", 40),
        entry(5, "transcript-resumed", 310, outcome="refused"),  # refused: not a resume
    ]
    assert paused_spans(audit, at(400)) == [
        {"from": at(10), "until": at(40)},
        {"from": at(300), "until": at(400)},
    ]


def test_a_recording_skips_only_the_pauses_while_it_ran() -> None:
    pauses = [
        {"from": at(10), "until": at(40)},  # before the recording: not in its file at all
        {"from": at(100), "until": at(130)},  # across its start: from its start
        {"from": at(300), "until": at(310)},
    ]
    assert skipped(RECORDING, pauses) == [
        {"from": at(120), "until": at(130)},
        {"from": at(300), "until": at(310)},
    ]
    rec = {**RECORDING, "skipped": skipped(RECORDING, pauses)}
    assert offset(rec, at(320), at(0)) == 320 - 120 - 10 - 10
