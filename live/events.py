"""Twilio's conference status callback, as one checked, normalised event.

Parsing is strict about what the live state needs (ConferenceSid, a known
StatusCallbackEvent, a SequenceNumber, a CallSid on participant events) and
lenient about the rest: Twilio adds parameters over time, and an unknown one
must not turn a good callback into a 400.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

from core import times

CONFERENCE_EVENTS = frozenset(
    {
        "conference-start",
        "conference-end",
        "participant-join",
        "participant-leave",
        "participant-mute",
        "participant-unmute",
        "participant-hold",
        "participant-unhold",
        "participant-modify",
        "participant-speech-start",
        "participant-speech-stop",
        "announcement-end",
        "announcement-fail",
    }
)

# A conference sees at most a few thousand events (speech start/stop pairs are
# the bulk). The bound keeps the per-conference "seen" bitmap small: a forged
# or broken SequenceNumber of 2**31 must not make Redis allocate 256 MB.
MAX_SEQUENCE_NUMBER = 1_000_000
# Even a signed callback can carry nonsense (issue 13: a Timestamp of year 9999 once took
# the floor down). What a real one carries is bounded: refused with 400 past these.
MAX_SKEW_MS = 24 * 3600 * 1000  # a Timestamp further than this from now
MAX_NAME_CHARS = 256  # FriendlyName
MAX_LABEL_CHARS = 128  # Twilio's own limit on a participant label (error 16023)
MAX_REASON_CHARS = 200
MAX_TOKEN_CHARS = 200  # I-Twilio-Idempotency-Token

_HEX = frozenset("0123456789abcdefABCDEF")


def is_sid(value: str, prefix: str) -> bool:
    """A Twilio SID: two letters and 32 hex digits (no regex: this runs on every callback)."""
    return len(value) == 34 and value.startswith(prefix) and _HEX.issuperset(value[2:])


class BadEvent(ValueError):
    """A signed callback that lacks what the live state needs; the message is the 400 reason."""


# Not frozen: a frozen dataclass's __init__ sets each field through
# object.__setattr__, which costs microseconds on every callback.
@dataclass(slots=True)
class ConferenceEvent:
    conference_sid: str
    friendly_name: str
    event: str
    sequence: int
    timestamp_ms: int
    call_sid: str | None = None
    label: str | None = None
    muted: bool | None = None
    hold: bool | None = None
    coaching: bool | None = None
    call_sid_to_coach: str | None = None
    end_conference_on_exit: bool | None = None
    reason: str | None = None
    idempotency_token: str | None = None
    # participant-leave: the leg's call status (busy, no-answer, failed for one that never
    # joined: ReasonParticipantLeft participant_add_failed).
    call_status: str | None = None

    def for_script(self) -> dict[str, object]:
        """The compact form the apply script reads (see live/apply.lua)."""
        out: dict[str, object] = {
            "cf": self.conference_sid,
            "fn": self.friendly_name,
            "ev": self.event,
            "seq": self.sequence,
            "ts": self.timestamp_ms,
        }
        if self.call_sid is not None:
            out["call"] = self.call_sid
            if self.label is not None:
                out["label"] = self.label
            if self.muted is not None:
                # Twilio sends the whole flag set on every participant event.
                out["flags"] = {
                    "muted": self.muted,
                    "hold": bool(self.hold),
                    "coaching": bool(self.coaching),
                    "coach": self.call_sid_to_coach or "",
                    "eoe": bool(self.end_conference_on_exit),
                }
        if self.reason is not None:
            out["reason"] = self.reason
        if self.idempotency_token is not None:
            out["tok"] = self.idempotency_token
        return out

    def script_args(self) -> tuple[str | int, ...]:
        """The same event as SCRIPT_ARGS values in a row, the form live/apply.lua takes (its
        `event_at` reads them back into for_script's table): a JSON argument cost the script
        more to decode than the rest of a speech event's work but the document's encoding.
        An optional string is "" when absent and "=" + value when present (a label or reason
        may be empty); flags are "" or four 0/1 (muted, hold, coaching, end on exit) then the
        call to coach."""
        call = self.call_sid
        label = flags = ""
        if call is not None:
            if self.label is not None:
                label = "=" + self.label
            if self.muted is not None:
                flags = (
                    ("1" if self.muted else "0")
                    + ("1" if self.hold else "0")
                    + ("1" if self.coaching else "0")
                    + ("1" if self.end_conference_on_exit else "0")
                    + (self.call_sid_to_coach or "")
                )
        reason, token = self.reason, self.idempotency_token
        return (
            self.conference_sid,
            self.friendly_name,
            self.event,
            self.sequence,
            self.timestamp_ms,
            call or "",
            label,
            flags,
            "" if reason is None else "=" + reason,
            "" if token is None else "=" + token,
        )


# How many values script_args gives an event.
SCRIPT_ARGS = 10


def _flag(params: Mapping[str, str], name: str) -> bool | None:
    raw = params.get(name)
    if raw == "true":  # what Twilio sends; the rest is for hand-made requests
        return True
    if raw == "false":
        return False
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise BadEvent(f"{name} must be true or false, got {raw[:40]!r}")


_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_RFC2822 = re.compile(
    r"^(?:[A-Z][a-z]{2}, )?(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) "
    r"(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$"
)


def _timestamp_ms(raw: str | None, now_ms: int) -> int:
    # Twilio sends RFC 2822 ("Tue, 24 Nov 2026 01:02:03 +0000"); a callback
    # without one is dated on arrival rather than refused. The common form is
    # parsed here directly (the email module's parser is several times slower
    # and this runs on every callback); anything else goes to the full parser.
    if not raw:
        return now_ms
    try:
        return _parse_timestamp_ms(raw)
    except BadEvent:
        raise
    except (ValueError, OverflowError):
        # Year 0, day 99, an offset of +99:99: a date no calendar has is a 400, never a 500.
        raise BadEvent(f"Timestamp is not a date: {raw[:60]!r}") from None


# Timestamps already read (raw -> ms). Twilio's have whole seconds, so at thousands of
# callbacks a second most carry one seen a moment ago: a dict lookup instead of the regex
# and the calendar. Bounded: emptied when full (what is current comes back at once).
_TIMESTAMPS: dict[str, int] = {}
MAX_TIMESTAMPS_KEPT = 4096


def _parse_timestamp_ms(raw: str) -> int:
    known = _TIMESTAMPS.get(raw)
    if known is not None:
        return known
    ms = _parse_new_timestamp_ms(raw)
    if len(_TIMESTAMPS) >= MAX_TIMESTAMPS_KEPT:
        _TIMESTAMPS.clear()
    _TIMESTAMPS[raw] = ms
    return ms


def _parse_new_timestamp_ms(raw: str) -> int:
    m = _RFC2822.match(raw)
    if m is not None and m.group(2) in _MONTHS:
        day, _, year, hh, mm, ss, sign, oh, om = m.groups()
        seconds = calendar.timegm(
            (int(year), _MONTHS[m.group(2)], int(day), int(hh), int(mm), int(ss), 0, 0, 0)
        )
        offset = (int(oh) * 3600 + int(om) * 60) * (1 if sign == "+" else -1)
        return (seconds - offset) * 1000
    try:
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        try:
            moment = times.moment(raw)
        except ValueError:
            raise BadEvent(f"Timestamp is not an RFC 2822 date: {raw[:60]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _refine(stamped_ms: int, now_ms: int) -> int:
    """Twilio's Timestamp has whole seconds; speech turns and holds are shorter than
    that matters for. A callback that arrives within the second it is stamped with
    is dated on arrival (milliseconds); a later one (a retry, a backlog) keeps
    Twilio's second, taken at its middle."""
    if stamped_ms <= now_ms < stamped_ms + 1000:
        return now_ms
    if stamped_ms % 1000 == 0 and now_ms >= stamped_ms + 1000:
        return stamped_ms + 500
    return stamped_ms


def _bounded(params: Mapping[str, str], name: str, limit: int) -> str | None:
    value = params.get(name) or None
    if value is not None and len(value) > limit:
        raise BadEvent(f"{name} is longer than {limit} characters")
    return value


def parse_conference_event(
    params: Mapping[str, str],
    now_ms: int,
    idempotency_token: str | None = None,
    max_skew_ms: int = MAX_SKEW_MS,
) -> ConferenceEvent:
    """Check and normalise one conference status callback; raise BadEvent with the reason."""
    conference_sid = params.get("ConferenceSid")
    if not conference_sid:
        raise BadEvent("ConferenceSid is missing")
    if not is_sid(conference_sid, "CF"):
        raise BadEvent(f"ConferenceSid is not a conference SID: {conference_sid[:40]!r}")
    event = params.get("StatusCallbackEvent")
    if not event:
        raise BadEvent("StatusCallbackEvent is missing")
    if event not in CONFERENCE_EVENTS:
        raise BadEvent(f"StatusCallbackEvent {event[:40]!r} is not a conference event Twilio sends")
    raw_sequence = params.get("SequenceNumber")
    if not raw_sequence:
        raise BadEvent("SequenceNumber is missing")
    # ASCII digits only: int() also takes full-width digits, "1_000" and " 7 ".
    if not (raw_sequence.isascii() and raw_sequence.isdigit()) or len(raw_sequence) > 12:
        raise BadEvent(f"SequenceNumber is not a number: {raw_sequence[:20]!r}")
    sequence = int(raw_sequence)
    if not 0 <= sequence <= MAX_SEQUENCE_NUMBER:
        raise BadEvent(f"SequenceNumber {sequence} is out of range 0..{MAX_SEQUENCE_NUMBER}")

    call_sid = params.get("CallSid") or None
    if event.startswith("participant-"):
        if call_sid is None:
            raise BadEvent(f"CallSid is missing on {event}")
        if not is_sid(call_sid, "CA"):
            raise BadEvent(f"CallSid is not a call SID: {call_sid[:40]!r}")
    else:
        # conference-end names the call that ended it; it is not a participant event.
        call_sid = None

    coach_target = params.get("CallSidToCoach") or None
    if coach_target is not None and not is_sid(coach_target, "CA"):
        raise BadEvent(f"CallSidToCoach is not a call SID: {coach_target[:40]!r}")
    reason = _bounded(params, "ReasonConferenceEnded", MAX_REASON_CHARS) or _bounded(
        params, "ReasonParticipantLeft", MAX_REASON_CHARS
    )
    stamped = _timestamp_ms(params.get("Timestamp"), now_ms)
    if abs(stamped - now_ms) > max_skew_ms:
        raise BadEvent(
            f"Timestamp {params.get('Timestamp', '')[:40]!r} is more than "
            f"{max_skew_ms // 3_600_000} h from now"
        )
    if idempotency_token is not None and len(idempotency_token) > MAX_TOKEN_CHARS:
        raise BadEvent(f"I-Twilio-Idempotency-Token is longer than {MAX_TOKEN_CHARS} characters")
    return ConferenceEvent(
        conference_sid=conference_sid,
        friendly_name=_bounded(params, "FriendlyName", MAX_NAME_CHARS) or "",
        event=event,
        sequence=sequence,
        timestamp_ms=_refine(stamped, now_ms),
        call_sid=call_sid,
        label=_bounded(params, "ParticipantLabel", MAX_LABEL_CHARS),
        muted=_flag(params, "Muted") if call_sid else None,
        hold=_flag(params, "Hold") if call_sid else None,
        coaching=_flag(params, "Coaching") if call_sid else None,
        call_sid_to_coach=coach_target,
        end_conference_on_exit=_flag(params, "EndConferenceOnExit") if call_sid else None,
        reason=reason,
        idempotency_token=idempotency_token,
        call_status=_bounded(params, "ParticipantCallStatus", MAX_REASON_CHARS),
    )


def timestamp_ms(raw: str | None, now_ms: int) -> int:
    """A Twilio Timestamp (RFC 2822, or ISO 8601 as the transcription callbacks send it) in
    ms since the epoch; none: `now_ms`. BadEvent for anything else."""
    return _timestamp_ms(raw, now_ms)
