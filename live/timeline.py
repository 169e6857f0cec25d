"""A conference's event timeline, as the call page shows it.

live/apply.lua records every new event of a conference (speech turns
excepted) in a sorted set by Twilio's timestamp; this turns those compact
entries into sentences a supervisor reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.times import iso
from live.model import role_of

# The event codes live/apply.lua and live/repair.lua write (compact: see apply.lua).
CODES = {
    "cs": "conference-start", "ce": "conference-end", "pj": "participant-join",
    "pl": "participant-leave", "pm": "participant-mute", "pu": "participant-unmute",
    "ph": "participant-hold", "pr": "participant-unhold", "pc": "participant-modify",
    "ae": "announcement-end", "af": "announcement-fail", "rp": "repaired",
}  # fmt: skip

_VERBS = {
    "conference-start": "the call started",
    "conference-end": "the call ended",
    "participant-join": "joined",
    "participant-leave": "left",
    "participant-mute": "was muted",
    "participant-unmute": "was unmuted",
    "participant-hold": "was put on hold",
    "participant-unhold": "was taken off hold",
    "participant-modify": "changed mode",
    "announcement-end": "an announcement ended",
    "announcement-fail": "an announcement failed",
    "repaired": "Earpiece reconciled the call with Twilio",
}


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: str | None  # UTC ISO 8601
    at_ms: int
    seq: int
    event: str
    who: str  # the participant's label, or "" for conference events
    text: str  # in English; the dashboard writes its own words from the codes (issue 25)
    coaching: bool = False  # participant-modify: whispering to the agent from now on
    reason: str | None = None  # conference-end: Twilio's ReasonConferenceEnded code


def who_of(label: str) -> str:
    role, ident = role_of(label or None)
    if role == "customer":
        return "the customer"
    if role in ("agent", "supervisor") and ident:
        return f"{role} {ident}"
    return label or "a participant"


# Twilio's ReasonConferenceEnded values (its OpenAPI file,
# conference_enum_reason_conference_ended), said as a supervisor would (issue 28: the raw
# `participant-with-end-conference-on-exit-left` was shown).
ENDED_REASONS = {
    "conference-ended-via-api": "ended from the API",
    "participant-with-end-conference-on-exit-left": "one set to end the call left",
    "participant-with-end-conference-on-exit-kicked": "one set to end the call was removed",
    "last-participant-left": "the last person left",
    "last-participant-kicked": "the last person was removed",
}


def describe(event: str, label: str, coaching: int | None, reason: str | None) -> str:
    verb = _VERBS.get(event, event)
    if not event.startswith("participant-"):
        said = ENDED_REASONS.get(reason or "", reason)
        return verb + (f" ({said})" if said else "")
    who = who_of(label)
    if event == "participant-modify":
        verb = "started whispering to the agent" if coaching else "stopped whispering"
    return f"{who} {verb}"


# A leg recorded before it had a label (live/apply.lua): named by its CallSid.
BY_CALL = "call:"


def entry_of(member: bytes | str, labels: Mapping[str, str] | None = None) -> TimelineEntry:
    """One recorded event; `labels`: each leg's label by CallSid as the conference's document
    has it now, for the legs recorded before they had one (TaskRouter labels none)."""
    raw = member.decode() if isinstance(member, bytes) else member
    at, seq, code, label, coaching, reason = raw.split("|", 5)
    if label.startswith(BY_CALL):
        label = (labels or {}).get(label[len(BY_CALL) :]) or ""
    event = CODES.get(code, code)
    return TimelineEntry(
        at=iso(int(at)),
        at_ms=int(at),
        seq=int(seq),
        event=event,
        who=label,
        text=describe(event, label, 1 if coaching else None, reason or None),
        coaching=bool(coaching),
        reason=reason or None,
    )
