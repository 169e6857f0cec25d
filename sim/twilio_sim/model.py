"""Twilio's resources as the simulator holds them, and their JSON as Twilio writes it.

Field names, types and value sets follow Twilio's OpenAPI description
(shared/twilio-oai/twilio_api_v2010.json); tests check every answer against it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

API_VERSION = "2010-04-01"

# Conference status callback event groups (<Conference statusCallbackEvent>)
# and the callback events each one covers.
EVENT_GROUPS = {
    "start": ("conference-start",),
    "end": ("conference-end",),
    "join": ("participant-join",),
    "leave": ("participant-leave",),
    "mute": ("participant-mute", "participant-unmute"),
    "hold": ("participant-hold", "participant-unhold"),
    "modify": ("participant-modify",),
    "speaker": ("participant-speech-start", "participant-speech-stop"),
    "announcement": ("announcement-end", "announcement-fail"),
}
ALL_GROUPS = frozenset(EVENT_GROUPS)


_HEX = frozenset("0123456789abcdefABCDEF")


def is_sid(value: str, prefix: str) -> bool:
    """Twilio's SID shape: two letters and 32 hex digits (e.g. ^CF[0-9a-fA-F]{32}$)."""
    return len(value) == 34 and value.startswith(prefix) and _HEX.issuperset(value[2:])


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def rfc2822(epoch: float) -> str:
    return formatdate(epoch, usegmt=False).replace("-0000", "+0000")


@dataclass
class Call:
    sid: str
    account_sid: str
    from_: str
    to: str
    direction: str  # inbound | outbound-api | outbound-dial
    status: str = "queued"  # queued ringing in-progress completed busy failed no-answer canceled
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    started: float | None = None
    ended: float | None = None
    queue_time_ms: int = 0
    conference_sid: str | None = None
    status_callback: str | None = None
    status_callback_events: frozenset[str] = frozenset()
    progress_sequence: int = 0

    @property
    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}.json"

    def json(self) -> dict[str, Any]:
        duration = None
        if self.started is not None and self.ended is not None:
            duration = str(int(self.ended - self.started))
        base = self.uri[: -len(".json")]
        return {
            "sid": self.sid,
            "date_created": rfc2822(self.created),
            "date_updated": rfc2822(self.updated),
            "parent_call_sid": None,
            "account_sid": self.account_sid,
            "to": self.to,
            "to_formatted": self.to,
            "from": self.from_,
            "from_formatted": self.from_,
            "phone_number_sid": None,
            "status": self.status,
            "start_time": rfc2822(self.started) if self.started else None,
            "end_time": rfc2822(self.ended) if self.ended else None,
            "duration": duration,
            "price": None,
            "price_unit": "USD",
            "direction": self.direction,
            "answered_by": None,
            "api_version": API_VERSION,
            "forwarded_from": None,
            "group_sid": None,
            "caller_name": None,
            "queue_time": str(self.queue_time_ms),
            "trunk_sid": None,
            "uri": self.uri,
            "subresource_uris": {
                "notifications": f"{base}/Notifications.json",
                "recordings": f"{base}/Recordings.json",
                "payments": f"{base}/Payments.json",
                "events": f"{base}/Events.json",
                "siprec": f"{base}/Siprec.json",
                "streams": f"{base}/Streams.json",
                "user_defined_message_subscriptions": (
                    f"{base}/UserDefinedMessageSubscriptions.json"
                ),
                "user_defined_messages": f"{base}/UserDefinedMessages.json",
            },
        }


@dataclass
class Participant:
    call_sid: str
    conference_sid: str
    account_sid: str
    label: str | None
    muted: bool = False
    hold: bool = False
    coaching: bool = False
    call_sid_to_coach: str | None = None
    end_conference_on_exit: bool = False
    start_conference_on_enter: bool = True
    status: str = "queued"  # queued connecting ringing connected complete failed
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    queue_time_ms: int = 0

    @property
    def uri(self) -> str:
        return (
            f"/{API_VERSION}/Accounts/{self.account_sid}/Conferences/{self.conference_sid}"
            f"/Participants/{self.call_sid}.json"
        )

    def json(self) -> dict[str, Any]:
        return {
            "account_sid": self.account_sid,
            "call_sid": self.call_sid,
            "label": self.label,
            "call_sid_to_coach": self.call_sid_to_coach,
            "coaching": self.coaching,
            "conference_sid": self.conference_sid,
            "date_created": rfc2822(self.created),
            "date_updated": rfc2822(self.updated),
            "end_conference_on_exit": self.end_conference_on_exit,
            "muted": self.muted,
            "hold": self.hold,
            "start_conference_on_enter": self.start_conference_on_enter,
            "status": self.status,
            "queue_time": str(self.queue_time_ms),
            "uri": self.uri,
        }


@dataclass
class Conference:
    sid: str
    account_sid: str
    friendly_name: str
    region: str
    status: str = "init"  # init in-progress completed
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    reason_ended: str | None = None
    call_sid_ending: str | None = None
    status_callback: str | None = None
    status_callback_events: frozenset[str] = ALL_GROUPS
    sequence: int = 0
    # Every participant ever, by CallSid (a left one keeps status complete).
    participants: dict[str, Participant] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Conferences/{self.sid}.json"

    def connected(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.status == "connected"]

    def active(self) -> list[Participant]:
        """Participants on their way in or in: they count toward the 250 cap."""
        return [p for p in self.participants.values() if p.status not in ("complete", "failed")]

    def json(self) -> dict[str, Any]:
        base = self.uri[: -len(".json")]
        return {
            "account_sid": self.account_sid,
            "date_created": rfc2822(self.created),
            "date_updated": rfc2822(self.updated),
            "api_version": API_VERSION,
            "friendly_name": self.friendly_name,
            "region": self.region,
            "sid": self.sid,
            "status": self.status,
            "uri": self.uri,
            "subresource_uris": {
                "participants": f"{base}/Participants.json",
                "recordings": f"{base}/Recordings.json",
            },
            "reason_conference_ended": self.reason_ended,
            "call_sid_ending_conference": self.call_sid_ending,
        }
