"""The simulated Twilio: conferences, participants, calls, and the callbacks they cause.

Everything runs on one event loop, so state changes need no locks. The rules
are Twilio's as far as Earpiece depends on them (FIELD-NOTES.md, Twilio's
API reference):

- a conference starts when at least two participants are in it and one of
  them has startConferenceOnEnter (whichever joined first): one alone never
  starts it, and legs that all have startConferenceOnEnter=false never do
  (until then everyone in it hears the wait music);
- it ends when a participant with endConferenceOnExit leaves, when the last
  participant leaves, or through the API;
- a participant created through the API rings its `To`, answers (or is busy,
  never answers, fails) and only then joins; it can be added to a conference
  that has not started (the caller alone with the wait music), not to one
  that has ended (16022);
- coaching needs CallSidToCoach naming a connected participant of the same
  conference; a conference holds at most 250 participants.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from twilio_sim.config import Endpoint, SimConfig
from twilio_sim.delivery import Deliverer
from twilio_sim.model import (
    ALL_GROUPS,
    API_VERSION,
    EVENT_GROUPS,
    Call,
    Conference,
    Participant,
    is_sid,
    new_sid,
    rfc2822,
)
from twilio_sim.tasks import cancel_all

MAX_LABEL_CHARS = 128
_GROUP_OF = {event: group for group, events in EVENT_GROUPS.items() for event in events}
CALL_PROGRESS_EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})
_FAILED_OUTCOMES = {"busy": "busy", "no-answer": "no-answer", "failed": "failed"}
# The SIP answer a call ended with, by its final status.
# No answer: Twilio CANCELs the INVITE when its timeout passes, and a CANCELled INVITE is
# answered 487 Request Terminated (RFC 3261 9.2); Twilio's own no-answer callbacks carry
# SipResponseCode=487 (a posted one: https://github.com/somleng/somleng-switch/issues/7).
SIP_CODES = {"completed": 200, "busy": 486, "no-answer": 487, "canceled": 487, "failed": 500}
# A participant create's ConferenceStatusCallbackEvent when it names none: `start end`
# (the Participants create's description in twilio_api_v2010.json).
DEFAULT_CREATE_GROUPS = frozenset({"start", "end"})
# What a participant hears: the wait music of a conference that has not started, the
# hold music while held, or the conference itself.
WAIT_MUSIC, HOLD_MUSIC, CONFERENCE_AUDIO = "wait-music", "hold-music", "conference"
# ReasonParticipantLeft, as Twilio sends it on participant-leave (FIELD-NOTES, "Corrections";
# Twilio changelog 2023-10-25, "ParticipantCallStatus and ReasonParticipantLeft").
HUNG_UP = "participant_hung_up"
REMOVED_VIA_API = "participant_updated_via_api"
ENDED_VIA_API = "conference_ended_via_api"
MODERATOR_ENDED = "moderator_ended_conference"
ADD_FAILED = "participant_add_failed"
# ReasonConferenceEnded (the Conference resource's reason_conference_ended) and the
# sentence Twilio's `Reason` says it in.
END_REASONS = {
    "conference-ended-via-api": "Conference ended via API",
    "participant-with-end-conference-on-exit-left": (
        "Participant with 'endConferenceOnExit' left the conference"
    ),
    "participant-with-end-conference-on-exit-kicked": (
        "Participant with 'endConferenceOnExit' was removed from the conference"
    ),
    "last-participant-left": "Last participant left the conference",
    "last-participant-kicked": "Last participant was removed from the conference",
}


def label_refusal(label: str) -> str | None:
    """Why Twilio refuses a participant label (16024 on a participant create, 16023 in
    <Dial><Conference>), or None: at most 128 characters, no "/" (nor %2F), and not shaped
    like a CallSid (it could not tell them apart in /Participants/{CallSid or label}.json)."""
    if len(label) > MAX_LABEL_CHARS:
        return f"Label is longer than {MAX_LABEL_CHARS} characters"
    if "/" in label or "%2f" in label.lower():
        # "it cannot contain /, including %2F" (https://www.twilio.com/docs/api/errors/16024)
        return "Label cannot contain '/', including %2F"
    if is_sid(label, "CA"):
        return "Label cannot look like a Call SID"
    return None


class SimError(Exception):
    """A REST error in Twilio's shape: HTTP status, Twilio error code, message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


def flag(form: Mapping[str, str], name: str, default: bool | None = None) -> bool | None:
    raw = form.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise SimError(400, 20001, f"Invalid value for {name}: {raw}")


class Engine:
    def __init__(self, config: SimConfig, deliverer: Deliverer, rng: random.Random) -> None:
        self.config = config
        self.deliverer = deliverer
        self.rng = rng
        self.conferences: dict[str, Conference] = {}
        self.calls: dict[str, Call] = {}
        self.speaking: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._next_create_at = 0.0
        # Told of every conference that ends, however it ends (TaskRouter's Workspace
        # moves the task of a conference it made to wrap-up).
        self.on_conference_end: list[Callable[[Conference], None]] = []
        # Told of every call that ends (a real-time transcription ends with its call).
        self.on_call_end: list[Callable[[str], None]] = []

    # -- lookups -------------------------------------------------------------

    def conference(self, ref: str) -> Conference:
        """By SID, or by FriendlyName (the live one, else the newest)."""
        if ref.startswith("CF") and ref in self.conferences:
            return self.conferences[ref]
        named = [c for c in self.conferences.values() if c.friendly_name == ref]
        live = [c for c in named if c.status != "completed"]
        if live or named:
            return max(live or named, key=lambda c: c.created)
        raise SimError(404, 20404, f"The requested resource /Conferences/{ref}.json was not found")

    def participant(self, conference: Conference, ref: str) -> Participant:
        """By CallSid, or by label (Twilio lets a label stand for the participant)."""
        found = conference.participants.get(ref)
        if found is None:
            labelled = [p for p in conference.participants.values() if p.label == ref]
            active = [p for p in labelled if p.status not in ("complete", "failed")]
            found = (active or labelled)[-1] if (active or labelled) else None
        if found is None:
            raise SimError(
                404, 20404, f"The requested resource /Participants/{ref}.json was not found"
            )
        return found

    def call(self, sid: str) -> Call:
        if sid not in self.calls:
            raise SimError(404, 20404, f"The requested resource /Calls/{sid}.json was not found")
        return self.calls[sid]

    # -- callbacks -----------------------------------------------------------

    def _conference_event(
        self, conference: Conference, event: str, p: Participant | None = None, **extra: str
    ) -> None:
        if (
            not conference.status_callback
            or _GROUP_OF[event] not in conference.status_callback_events
        ):
            return
        conference.sequence += 1
        params = {
            "AccountSid": conference.account_sid,
            "ConferenceSid": conference.sid,
            "FriendlyName": conference.friendly_name,
            "StatusCallbackEvent": event,
            "SequenceNumber": str(conference.sequence),
            "Timestamp": rfc2822(time.time()),
        }
        if p is not None:
            params.update(
                {
                    "CallSid": p.call_sid,
                    "Muted": str(p.muted).lower(),
                    "Hold": str(p.hold).lower(),
                    "Coaching": str(p.coaching).lower(),
                    "EndConferenceOnExit": str(p.end_conference_on_exit).lower(),
                    "StartConferenceOnEnter": str(p.start_conference_on_enter).lower(),
                }
            )
            if p.label:
                params["ParticipantLabel"] = p.label
            # No CallSidToCoach: Twilio's conference callbacks carry Coaching only (the
            # statusCallback parameter table of https://www.twilio.com/docs/voice/twiml/conference);
            # the coached leg is on the Participant resource.
        params.update(extra)
        self.deliverer.send(conference.status_callback, params)

    def _call_progress(self, call: Call, event: str) -> None:
        if not call.status_callback or event not in call.status_callback_events:
            return
        params = {
            "AccountSid": call.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call.sid,
            "CallStatus": "initiated" if event == "initiated" else call.status,
            "CallbackSource": "call-progress-events",
            "Called": call.to,
            "Caller": call.from_,
            "Direction": call.direction,
            "From": call.from_,
            "To": call.to,
            # Numbered from 0 (the Call resource's status callback page).
            "SequenceNumber": str(call.progress_sequence),
            "Timestamp": rfc2822(time.time()),
        }
        call.progress_sequence += 1
        if event == "completed":
            # A completed call says how long it lasted and how it ended at the SIP level
            # (FIELD-NOTES, "Corrections"): Duration in whole minutes, CallDuration in s.
            seconds = int(call.ended - call.started) if call.started and call.ended else 0
            params["CallDuration"] = str(seconds)
            params["Duration"] = str(-(-seconds // 60))
            params["SipResponseCode"] = str(SIP_CODES.get(call.status, 200))
        self.deliverer.send(call.status_callback, params)

    # -- the call model ------------------------------------------------------

    def new_conference(
        self, friendly_name: str, callback: str | None, groups: frozenset[str] = ALL_GROUPS
    ) -> Conference:
        conference = Conference(
            sid=new_sid("CF"),
            account_sid=self.config.account_sid,
            friendly_name=friendly_name,
            region=self.config.region,
            status_callback=callback,
            status_callback_events=groups,
        )
        self.conferences[conference.sid] = conference
        return conference

    def live_conference_named(self, friendly_name: str) -> Conference | None:
        for conference in self.conferences.values():
            if conference.friendly_name == friendly_name and conference.status != "completed":
                return conference
        return None

    def dial_in(
        self,
        friendly_name: str,
        *,
        from_: str,
        to: str,
        label: str,
        start_on_enter: bool,
        end_on_exit: bool,
        direction: str = "inbound",
        separate: bool = False,
    ) -> tuple[Conference, Participant]:
        """A call running <Dial><Conference>: joins the live one of that name, or makes it.

        `separate` makes a second live conference of the same name, as Twilio
        does when two legs race to create it (FIELD-NOTES 4)."""
        existing = None if separate else self.live_conference_named(friendly_name)
        conference = existing or self.new_conference(friendly_name, self.config.callback_url)
        call = Call(
            sid=new_sid("CA"),
            account_sid=self.config.account_sid,
            from_=from_,
            to=to,
            direction=direction,
            status="in-progress",
            started=time.time(),
            conference_sid=conference.sid,
        )
        self.calls[call.sid] = call
        p = self.join_call(
            conference, call, label=label, start_on_enter=start_on_enter, end_on_exit=end_on_exit
        )
        return conference, p

    def join_call(
        self,
        conference: Conference,
        call: Call,
        *,
        label: str,
        start_on_enter: bool,
        end_on_exit: bool,
    ) -> Participant:
        """An existing call (a caller TaskRouter held in a queue) joins a conference."""
        call.conference_sid = conference.sid
        p = Participant(
            call_sid=call.sid,
            conference_sid=conference.sid,
            account_sid=self.config.account_sid,
            label=label,
            start_conference_on_enter=start_on_enter,
            end_conference_on_exit=end_on_exit,
        )
        conference.participants[call.sid] = p
        self._connect(conference, p)
        return p

    def _connect(self, conference: Conference, p: Participant) -> None:
        p.status = "connected"
        p.updated = conference.updated = time.time()
        self._conference_event(conference, "participant-join", p)
        # conference-start "occurs when there is at least one participant in the
        # conference and a participant with startConferenceOnEnter=true joins"; until
        # then everyone in it hears the wait music (the statusCallbackEvent table and
        # startConferenceOnEnter of https://www.twilio.com/docs/voice/twiml/conference:
        # "Conferences will not start until at least two participants join"). And the
        # other order: "If the Conference is configured with a moderator, then the
        # Conference will not start until the moderator joins ... If there is no
        # moderator, the Conference starts when the second participant joins"
        # (https://www.twilio.com/docs/voice/conference): a moderator (an agent) alone
        # hears the wait music, and the conference starts when a second leg joins them,
        # whatever that leg's own flag. So: two legs at least, one of them with
        # startConferenceOnEnter. A lone agent does not start it, nor does a supervisor's
        # leg (startConferenceOnEnter=false) joining a caller who waits (false too).
        connected = conference.connected()
        if (
            conference.status == "init"
            and len(connected) >= 2
            and any(q.start_conference_on_enter for q in connected)
        ):
            conference.status = "in-progress"
            self._conference_event(conference, "conference-start")

    @staticmethod
    def hears(conference: Conference, p: Participant) -> str | None:
        """What `p` hears now (None when not connected): the simulator's stand-in for the
        audio, so a test can tell a caller still on the wait music from one in silence."""
        if p.status != "connected":
            return None
        if p.hold:
            return HOLD_MUSIC
        return WAIT_MUSIC if conference.status == "init" else CONFERENCE_AUDIO

    def leave(self, conference: Conference, p: Participant, reason: str = HUNG_UP) -> None:
        """A connected participant leaves (hangs up or is kicked); the conference may end."""
        if p.status != "connected":
            self._abandon(p, "canceled")
            return
        now = time.time()
        p.status = "complete"
        p.updated = conference.updated = now
        self.speaking.discard(p.call_sid)
        call = self.calls.get(p.call_sid)
        if call is not None and call.status == "in-progress":
            call.status, call.ended, call.updated = "completed", now, now
            self._call_ended(call.sid)
        self._conference_event(
            conference,
            "participant-leave",
            p,
            ParticipantCallStatus="completed",
            ReasonParticipantLeft=reason,
        )
        if call is not None:
            self._call_progress(call, "completed")
        if conference.status == "completed":
            return
        kicked = reason == REMOVED_VIA_API
        if p.end_conference_on_exit:
            why = "participant-with-end-conference-on-exit-" + ("kicked" if kicked else "left")
            self.end(conference, why, ending=p)
        elif not conference.connected():
            self.end(conference, "last-participant-" + ("kicked" if kicked else "left"), ending=p)

    def hang_up(self, conference: Conference, call_sid: str) -> None:
        """That leg hangs up (a caller, say): it leaves, and the conference ends if it should."""
        p = conference.participants.get(call_sid)
        if p is not None and p.status == "connected":
            self.leave(conference, p, reason=HUNG_UP)

    def end(self, conference: Conference, reason: str, ending: Participant | None = None) -> None:
        if conference.status == "completed":
            return
        conference.status = "completed"
        # Those still on are removed by the end: through the API, or because a moderator
        # (endConferenceOnExit) left.
        why = ENDED_VIA_API if reason == "conference-ended-via-api" else MODERATOR_ENDED
        for other in list(conference.participants.values()):
            if other.status == "connected":
                self.leave(conference, other, reason=why)
            elif other.status not in ("complete", "failed"):
                self._abandon(other, "canceled")
        conference.reason_ended = reason
        conference.call_sid_ending = ending.call_sid if ending is not None else None
        conference.updated = time.time()
        extra = {"ReasonConferenceEnded": reason, "Reason": END_REASONS[reason]}
        if ending is not None:
            extra["CallSidEndingConference"] = ending.call_sid
            if ending.label:
                extra["ParticipantLabelEndingConference"] = ending.label
        self._conference_event(conference, "conference-end", None, **extra)
        for told in self.on_conference_end:
            told(conference)

    def _call_ended(self, call_sid: str) -> None:
        for told in self.on_call_end:
            told(call_sid)

    def _abandon(self, p: Participant, call_status: str) -> None:
        """A participant that never joined: its call ends without a join, and Twilio still
        says so with a participant-leave carrying the call's status (busy, no-answer,
        failed, canceled) and participant_add_failed (changelog 2023-10-25)."""
        if p.status in ("complete", "failed"):
            return
        p.status = "failed" if call_status in _FAILED_OUTCOMES else "complete"
        p.updated = time.time()
        conference = self.conferences.get(p.conference_sid)
        if conference is not None and conference.reason_ended is None:  # none after the end
            self._conference_event(
                conference,
                "participant-leave",
                p,
                ParticipantCallStatus=call_status,
                ReasonParticipantLeft=ADD_FAILED,
            )
        call = self.calls.get(p.call_sid)
        if call is not None and call.status in ("queued", "connecting", "ringing"):
            call.status, call.ended, call.updated = call_status, time.time(), time.time()
            self._call_progress(call, "completed")

    # -- REST: participants --------------------------------------------------

    def create_participant(
        self,
        conference_ref: str,
        form: Mapping[str, str],
        events: list[str],
        conference_events: list[str],
    ) -> Participant:
        from_, to = form.get("From"), form.get("To")
        if not to:
            raise SimError(400, 21201, "No 'To' number is specified")
        if not from_:
            raise SimError(400, 21213, "No 'From' number is specified")
        coaching = bool(flag(form, "Coaching", False))
        coach_target = form.get("CallSidToCoach") or None
        muted = bool(flag(form, "Muted", False))
        start_on_enter = bool(flag(form, "StartConferenceOnEnter", True))
        end_on_exit = bool(flag(form, "EndConferenceOnExit", False))
        label = form.get("Label") or None

        if is_sid(conference_ref, "CF"):
            conference = self.conferences.get(conference_ref)
            if conference is None or conference.status == "completed":
                # https://www.twilio.com/docs/api/errors/16022: "The requested conference
                # sid or friendly name refers to a non-existent or completed conference."
                raise SimError(
                    400, 16022, f"Conference {conference_ref} does not exist or is completed"
                )
        else:
            existing = self.live_conference_named(conference_ref)
            conference = existing or self.new_conference(
                conference_ref,
                form.get("ConferenceStatusCallback") or None,
                _groups(conference_events),
            )
        # A conference that has not started (status init: the caller alone with the wait
        # music) takes new participants, as Twilio's does; whether the new one starts it
        # is the join's business (_connect).
        if len(conference.active()) >= self.config.max_participants:
            raise SimError(
                400,
                16020,
                f"Conference {conference.sid} is full "
                f"({self.config.max_participants} participants)",
            )
        if coaching:
            self._check_coach_target(conference, coach_target)
        # The participant-create codes (16023 and 16025 are <Dial><Conference>'s):
        # https://www.twilio.com/docs/api/errors/16024 and /16026.
        if label is not None:
            refused = label_refusal(label)
            if refused:
                raise SimError(400, 16024, f"Invalid participant label: {refused}")
        if label and any(p.label == label for p in conference.active()):
            raise SimError(
                400, 16026, f"Participant label {label!r} is in use by another participant"
            )

        bad = [e for e in events if e not in CALL_PROGRESS_EVENTS]
        if bad:
            raise SimError(400, 21626, f"Invalid StatusCallbackEvent: {bad[0]}")
        call = Call(
            sid=new_sid("CA"),
            account_sid=self.config.account_sid,
            from_=from_,
            to=to,
            direction="outbound-api",
            conference_sid=conference.sid,
            status_callback=form.get("StatusCallback") or None,
            status_callback_events=frozenset(events or ["completed"]),
        )
        p = Participant(
            call_sid=call.sid,
            conference_sid=conference.sid,
            account_sid=self.config.account_sid,
            label=label,
            muted=muted,
            coaching=coaching,
            call_sid_to_coach=coach_target if coaching else None,
            start_conference_on_enter=start_on_enter,
            end_conference_on_exit=end_on_exit,
        )
        delay = self._queue_delay()
        call.queue_time_ms = p.queue_time_ms = int(delay * 1000)
        self.calls[call.sid] = call
        conference.participants[call.sid] = p
        self._spawn(self._dial(conference, p, call, delay))
        return p

    def _queue_delay(self) -> float:
        """Twilio's participant-create rate limit: excess creates wait (queue_time)."""
        rate = self.config.participant_creates_per_second
        if not rate:
            return 0.0
        now = time.monotonic()
        start = max(now, self._next_create_at)
        self._next_create_at = start + 1.0 / rate
        return start - now

    def _check_coach_target(self, conference: Conference, target: str | None) -> None:
        if not target:
            raise SimError(400, 16028, "CallSidToCoach is required when Coaching is true")
        p = conference.participants.get(target)
        if p is None or p.status != "connected":
            raise SimError(
                400,
                16028,
                f"Participant to be whispered {target} is not present "
                f"in conference {conference.sid}",
            )
        if p.hold:
            # https://www.twilio.com/docs/api/errors/16027 (FIELD-NOTES, "Corrections").
            raise SimError(400, 16027, f"Participant to be coached {target} is on hold")

    def endpoint(self, to: str) -> Endpoint:
        return self.config.endpoints.get(to, self.config.default_endpoint)

    async def _dial(
        self, conference: Conference, p: Participant, call: Call, queued: float
    ) -> None:
        if queued:
            await asyncio.sleep(queued)
        if p.status != "queued":
            return  # removed while queued
        # The Participant resource's statuses: queued, connecting, ringing, connected,
        # complete, failed (twilio_api_v2010.json, participant_enum_status).
        p.status = "connecting"
        p.updated = time.time()
        self._call_progress(call, "initiated")
        await asyncio.sleep(self.config.connecting_seconds)
        if p.status != "connecting":
            return  # removed while connecting
        call.status, p.status = "ringing", "ringing"
        call.updated = p.updated = time.time()
        self._call_progress(call, "ringing")
        behaviour = self.endpoint(call.to)
        wait = (
            self.config.no_answer_seconds if behaviour.outcome == "no-answer" else behaviour.delay
        )
        await asyncio.sleep(wait)
        if p.status != "ringing":
            return  # kicked or canceled while ringing
        if behaviour.outcome in _FAILED_OUTCOMES:
            self._abandon(p, _FAILED_OUTCOMES[behaviour.outcome])
            return
        if conference.status == "completed":
            self._abandon(p, "canceled")
            return
        now = time.time()
        call.status, call.started, call.updated = "in-progress", now, now
        self._call_progress(call, "answered")
        self._connect(conference, p)

    def update_participant(
        self, conference: Conference, p: Participant, form: Mapping[str, str]
    ) -> None:
        if conference.status == "completed" or p.status in ("complete", "failed"):
            raise SimError(404, 20404, f"Participant {p.call_sid} is not in a live conference")
        muted = flag(form, "Muted")
        hold = flag(form, "Hold")
        coaching = flag(form, "Coaching")
        end_on_exit = flag(form, "EndConferenceOnExit")
        target = form.get("CallSidToCoach") or None
        new_coaching = p.coaching if coaching is None else coaching
        new_target = (target or p.call_sid_to_coach) if new_coaching else None
        if new_coaching and (coaching is not None or target is not None):
            self._check_coach_target(conference, new_target)

        connected = p.status == "connected"
        p.updated = conference.updated = time.time()
        if muted is not None and muted != p.muted:
            p.muted = muted
            if connected:
                self._conference_event(
                    conference, "participant-mute" if muted else "participant-unmute", p
                )
        if hold is not None and hold != p.hold:
            p.hold = hold
            if connected:
                self._conference_event(
                    conference, "participant-hold" if hold else "participant-unhold", p
                )
        modified = (new_coaching, new_target) != (p.coaching, p.call_sid_to_coach)
        p.coaching, p.call_sid_to_coach = new_coaching, new_target
        if end_on_exit is not None and end_on_exit != p.end_conference_on_exit:
            p.end_conference_on_exit = end_on_exit
            modified = True
        if modified and connected:
            self._conference_event(conference, "participant-modify", p)

    def kick(self, conference: Conference, p: Participant) -> None:
        if p.status in ("complete", "failed"):
            raise SimError(404, 20404, f"Participant {p.call_sid} is not in the conference")
        self.leave(conference, p, reason=REMOVED_VIA_API)

    # -- REST: calls and conferences ------------------------------------------

    def update_call(self, call: Call, form: Mapping[str, str]) -> None:
        status = form.get("Status")
        if status not in (None, "completed", "canceled"):
            raise SimError(400, 21218, f"Invalid Status: {status}")
        if status is None:
            return
        conference = self.conferences.get(call.conference_sid or "")
        p = conference.participants.get(call.sid) if conference else None
        if call.status == "in-progress" and status == "completed":
            if conference is not None and p is not None and p.status == "connected":
                self.leave(conference, p, reason=HUNG_UP)
            else:
                now = time.time()
                call.status, call.ended, call.updated = "completed", now, now
                self._call_ended(call.sid)
                self._call_progress(call, "completed")
        elif call.status in ("queued", "ringing"):
            if p is not None:
                self._abandon(p, "canceled")
            else:
                call.status = "canceled"

    def update_conference(self, conference: Conference, form: Mapping[str, str]) -> None:
        status = form.get("Status")
        if status not in (None, "completed"):
            raise SimError(400, 21218, f"Invalid Status: {status}")
        if status == "completed":
            self.end(conference, "conference-ended-via-api")

    # -- scripted actions (control API and traffic) ----------------------------

    def act(self, conference: Conference, action: str, call_sid: str | None) -> None:
        if action == "end":
            self.end(conference, "conference-ended-via-api")
            return
        if not call_sid:
            raise SimError(400, 20001, f"action {action} needs a call_sid")
        p = self.participant(conference, call_sid)
        if p.status != "connected":
            raise SimError(400, 16099, f"participant {call_sid} is not connected")
        if action in ("hold", "unhold"):
            self.update_participant(conference, p, {"Hold": str(action == "hold")})
        elif action in ("mute", "unmute"):
            self.update_participant(conference, p, {"Muted": str(action == "mute")})
        elif action == "speech-start":
            self.speaking.add(p.call_sid)
            self._conference_event(conference, "participant-speech-start", p)
        elif action == "speech-stop":
            self.speaking.discard(p.call_sid)
            self._conference_event(conference, "participant-speech-stop", p)
        elif action == "leave":
            self.leave(conference, p, reason=HUNG_UP)
        else:
            raise SimError(400, 20001, f"unknown action {action!r}")

    # -- housekeeping --------------------------------------------------------

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        await cancel_all(list(self._tasks))

    def state(self) -> dict[str, Any]:
        return {
            "conferences": [
                {
                    **c.json(),
                    "participants": [
                        {
                            **p.json(),
                            "speaking": p.call_sid in self.speaking,
                            "hears": self.hears(c, p),
                            "created_ms": p.created * 1000,
                            "updated_ms": p.updated * 1000,
                        }
                        for p in c.participants.values()
                    ],
                }
                for c in self.conferences.values()
            ],
            "calls": [c.json() for c in self.calls.values()],
            "callbacks": {
                **self.deliverer.stats,
                "pending": self.deliverer.pending,
                "outcomes": dict(self.deliverer.outcomes),
            },
        }


def _groups(raw: list[str]) -> frozenset[str]:
    if not raw:
        return DEFAULT_CREATE_GROUPS
    groups = frozenset(raw)
    unknown = groups - ALL_GROUPS
    if unknown:
        raise SimError(400, 16002, f"Invalid ConferenceStatusCallbackEvent: {sorted(unknown)[0]}")
    return groups
