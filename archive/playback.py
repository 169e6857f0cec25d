"""Where a moment of an ended call is in its recording: "play from here" on a transcript line.

A call's recording is not the call's own clock (coach/recording.py):

- it starts when an agent is first with the customer, not when the call did: a caller who
  waited two minutes in the queue is two minutes into the call at the recording's 0:00;
- a payment pauses it with `PauseBehavior=skip`, and Twilio's skip "does not record during
  the pause period" (the Recording resource's update, https://www.twilio.com/docs/voice/api/
  recording#update-a-recording-resource; the same words in twilio's SDK), so the file has
  no second of the pause: every line after a payment is that much earlier in the file.

So the archive keeps, for each recording, when it started (Earpiece's own start, as it asked
Twilio) and the spans it skipped (from the audit's `transcript-paused` to its
`transcript-resumed`, or the call's end), and a line plays at its time since the start less
the skipped time before it. Seconds are whole: the player seeks by the second.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core.times import ms_of

Json = dict[str, Any]

PAUSED, RESUMED = "transcript-paused", "transcript-resumed"


def paused_spans(audit: Iterable[Mapping[str, Any]], ended_at: str | None) -> list[Json]:
    """The call's payment pauses, {"from", "until"} (ISO times), oldest first; a pause never
    resumed runs until the call ended."""
    spans: list[Json] = []
    since: Any = None
    for entry in sorted(audit, key=lambda e: e.get("id") or ""):
        if entry.get("outcome") not in ("ok", "", None):
            continue
        action = entry.get("action")
        if action == PAUSED and since is None:
            since = entry.get("at")
        elif action == RESUMED and since is not None:
            spans.append({"from": since, "until": entry.get("at")})
            since = None
    if since is not None:
        spans.append({"from": since, "until": ended_at})
    return spans


def skipped(recording: Mapping[str, Any], pauses: Iterable[Mapping[str, Any]]) -> list[Json]:
    """The pauses that fell while `recording` ran, each from no earlier than its start."""
    start = _ms(recording.get("started_at"))
    out: list[Json] = []
    for span in pauses:
        begin, end = _ms(span.get("from")), _ms(span.get("until"))
        # (Times are to the second: a pause shorter than one is a span of none, still kept.)
        if begin is None or end is None or end < begin:
            continue
        if start is not None and end < start:
            continue
        clipped = span["from"] if start is None or begin >= start else recording["started_at"]
        out.append({"from": clipped, "until": span["until"]})
    return out


def offset(recording: Mapping[str, Any], at: str | None, call_started_at: str | None) -> int:
    """Whole seconds into `recording`'s file where the moment `at` of the call is: 0 for a
    moment before the recording began, at most its last second when its length is known."""
    at_ms = _ms(at)
    start = _ms(recording.get("started_at")) or _ms(call_started_at)
    if at_ms is None or start is None or at_ms <= start:
        return 0
    gone = 0
    for span in recording.get("skipped") or ():
        begin, end = _ms(span.get("from")), _ms(span.get("until"))
        if begin is None or end is None:
            continue
        begin, end = max(begin, start), min(end, at_ms)
        if end > begin:
            gone += end - begin
    seconds = max(0, (at_ms - start - gone) // 1000)
    duration = recording.get("duration")
    if isinstance(duration, int) and duration > 0:
        seconds = min(seconds, duration - 1)
    return int(seconds)


def _ms(stamp: Any) -> int | None:
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        return ms_of(stamp)
    except (ValueError, OverflowError):
        return None
