"""Twilio's real-time transcription callback, as one checked event (issue 15).

Twilio posts to the transcription's StatusCallbackUrl (the `<Transcription>`
TwiML page, https://www.twilio.com/docs/voice/twiml/transcription, "Status
callback" parameters): every event carries AccountSid, CallSid,
TranscriptionSid, Timestamp, SequenceId and TranscriptionEvent, one of
`transcription-started`, `transcription-content`, `transcription-stopped`,
`transcription-error`. A content event adds Track (`inbound_track` or
`outbound_track`), Final (`true` / `false`: partial results come first when
PartialResults is on), LanguageCode and TranscriptionData, a JSON object
with the `transcript` and its `confidence`. An error adds
TranscriptionError and TranscriptionErrorCode.

SequenceId counts a transcription's callbacks from 1: it orders partials
and finals of one transcription whatever order they arrive in
(live/transcript.lua). Text is bounded, and masked (live/redact.py) before
it goes further than this parse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from core.times import ms_of
from live.events import BadEvent, is_sid, timestamp_ms
from live.numbers import plain_int, whole

EVENTS = frozenset(
    {
        "transcription-started",
        "transcription-content",
        "transcription-stopped",
        "transcription-error",
    }
)
TRACKS = frozenset({"inbound_track", "outbound_track"})
# The labels Earpiece gives the tracks when it starts a transcription on the customer's leg
# (coach/transcription.py): a callback may name the track by them.
SPEAKERS = frozenset({"customer", "agent"})
MAX_TEXT_CHARS = 2000
MAX_SEQUENCE = 10**9
MAX_SKEW_MS = 24 * 3600 * 1000
MAX_ERROR_CODE = 99_999  # Twilio's error codes have five digits (32015, 64104, ...)


@dataclass(slots=True)
class TranscriptionEvent:
    event: str
    call_sid: str
    transcription_sid: str
    sequence: int
    at_ms: int
    track: str | None = None  # inbound_track | outbound_track | a label Earpiece set
    final: bool = False
    text: str = ""
    error: str | None = None


def _iso_ms(raw: str | None) -> int | None:
    """Twilio's transcription callbacks date themselves in ISO 8601 (the conference ones in
    RFC 2822): tried first, as it is the common case here; None for anything else."""
    if not raw or "T" not in raw:
        return None
    try:
        return ms_of(raw)
    except (ValueError, OverflowError):
        return None  # the general parser says why


def _final(raw: str | None) -> bool:
    if raw is None or raw.lower() in ("false", "0", ""):
        return False
    if raw.lower() in ("true", "1"):
        return True
    raise BadEvent(f"Final is not true or false: {raw[:20]!r}")


def _transcript(raw: str | None) -> str:
    if not raw:
        return ""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadEvent("TranscriptionData is not JSON") from None
    text = data.get("transcript") if isinstance(data, dict) else None
    if text is None:
        return ""
    if not isinstance(text, str):
        raise BadEvent("TranscriptionData.transcript is not text")
    text = text[:MAX_TEXT_CHARS]
    if not text.isprintable():
        # Control characters are nobody's words (and no reader should get them).
        text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text.strip()


def parse(params: Mapping[str, str], now_ms: int) -> TranscriptionEvent:
    event = params.get("TranscriptionEvent")
    if event not in EVENTS:
        raise BadEvent(f"TranscriptionEvent {str(event)[:40]!r} is not one Twilio sends")
    call_sid = params.get("CallSid") or ""
    if not is_sid(call_sid, "CA"):
        raise BadEvent(f"CallSid is not a call SID: {call_sid[:40]!r}")
    gt = params.get("TranscriptionSid") or ""
    if not is_sid(gt, "GT"):
        raise BadEvent(f"TranscriptionSid is not a transcription SID: {gt[:40]!r}")
    raw_seq = params.get("SequenceId") or "0"
    sequence = plain_int(raw_seq)
    if sequence is None or sequence > MAX_SEQUENCE:
        raise BadEvent(f"SequenceId is not a whole number: {raw_seq[:20]!r}")
    at = _iso_ms(params.get("Timestamp")) or timestamp_ms(params.get("Timestamp"), now_ms)
    if abs(at - now_ms) > MAX_SKEW_MS:
        raise BadEvent("Timestamp is more than a day away from now")
    out = TranscriptionEvent(event, call_sid, gt, sequence, at)
    if event == "transcription-content":
        track = params.get("Track") or ""
        if track not in TRACKS and track not in SPEAKERS:
            raise BadEvent(f"Track {track[:40]!r} is not inbound_track or outbound_track")
        out.track = track
        out.final = _final(params.get("Final"))
        out.text = _transcript(params.get("TranscriptionData"))
    elif event == "transcription-error":
        found = whole(params, "TranscriptionErrorCode", 0, MAX_ERROR_CODE)
        code = str(found) if found is not None else ""
        what = (params.get("TranscriptionError") or "transcription failed")[:200]
        out.error = f"{what} ({code})" if code else what
    return out
