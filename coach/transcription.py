"""Real-time transcription of live calls through the twilio SDK: start, stop, pause (issue 15).

Which calls are transcribed is a roster setting per team, since Twilio bills it
per minute: `always`, `monitored` (while a supervisor is on the call, or has
its page open: a transcript stream is open, live/transcript.py's viewers) or
`off`. Once a second the service's ticking process (one per floor, a Redis
lock) compares what each live call should have with what it has, and starts
or stops transcriptions to match; starting on a page open is that fast path's
next tick. A call leaves `monitored` transcription a grace period after its
last watcher, so a supervisor who reloads the page does not restart it.

Earpiece transcribes the customer's leg, both tracks, partial results on,
labelled `customer` (inbound) and `agent` (outbound: everyone the customer
hears), with its status callbacks at `/twilio/transcription-events`
(https://www.twilio.com/docs/voice/api/realtime-transcription-resource).
When the call ends Twilio ends the transcription with it: nothing to stop.

Pause: for a payment, the agent (its softphone's key) or a supervisor pauses
the call's transcription: it is stopped at Twilio (no audio of the card is
transcribed at all), the call shows `paused` with who paused it, nothing that
still arrives for it is kept, and resume starts a new one. The call's recording
pauses and resumes with it (coach/recording.py). Both are audited.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from access.modes import refusal
from coach.actions import agent_leg, live_document
from coach.recording import Recording
from core.audit import Audit
from core.documents import Conference, Transcript
from core.twilio_calls import TwilioCalls
from core.twilio_errors import CoachError
from live.model import Json, customer_leg
from live.roster import Roster
from live.store import LiveFloor, now_ms, text
from live.transcript import Transcripts

log = logging.getLogger("earpiece.transcription")

# A monitored call is transcribed this long after its last monitor left or page closed.
GRACE_SECONDS = 30.0
# A start Twilio refused is not tried again on this call for this long.
RETRY_SECONDS = 30.0
# A transcript stream (an open call page) counts as a watcher this long after its last beat.
VIEWER_SECONDS = 30.0
NAME = "earpiece"  # the Name Earpiece gives its transcriptions (Twilio stops one by it too)


@dataclass(frozen=True, slots=True)
class Wanted:
    sid: str
    team: str | None
    customer_leg: str | None
    state: str  # the transcript state now: on | off | paused | error | starting
    gt: str | None  # the transcription on the call now, if any
    call: str | None  # the leg it runs on


@dataclass
class Transcription:
    floor: LiveFloor
    transcripts: Transcripts
    twilio: TwilioCalls
    roster: Roster
    audit: Audit
    status_callback_url: str
    language: str = "en-US"
    grace_seconds: float = GRACE_SECONDS
    # The call's recording pauses and resumes with its transcript (coach/recording.py).
    recording: Recording | None = None
    # Per call: when it last had a watcher, and when a start last failed (this process).
    _watched: dict[str, float] = field(default_factory=dict)
    _failed: dict[str, float] = field(default_factory=dict)
    starts: int = 0
    stops: int = 0

    def mode(self, team: str | None) -> str:
        found = self.roster.teams.get(team) if team else None
        return found.transcribe if found is not None else "off"

    def language_of(self, team: str | None) -> str:
        """The team's transcription language (issue 23), else the floor's default."""
        found = self.roster.teams.get(team) if team else None
        return found.language if found is not None else self.language

    # -- watchers -----------------------------------------------------------------

    async def viewing(self, sid: str, seconds: float = VIEWER_SECONDS) -> None:
        """A call page (transcript stream) is open on `sid`: it counts as watched."""
        key = self.floor.keys.viewers_all
        until = now_ms() + int(seconds * 1000)
        await self.floor.redis.hset(key, sid, until)

    async def _viewed(self) -> dict[str, int]:
        raw: Any = await self.floor.redis.hgetall(self.floor.keys.viewers_all)
        now = now_ms()
        out = {text(k): int(v) for k, v in raw.items()}
        stale = [sid for sid, until in out.items() if until < now - 60_000]
        if stale:
            await self.floor.redis.hdel(self.floor.keys.viewers_all, *stale)
        return {sid: until for sid, until in out.items() if until >= now}

    # -- the pass -------------------------------------------------------------------

    async def run_once(self, conferences: list[Json]) -> None:
        """Start and stop transcriptions so that every live call has what its team says."""
        viewed: dict[str, int] | None = None
        now = time.monotonic()
        live = set()
        for c in conferences:
            sid = c["sid"]
            live.add(sid)
            mode = self.mode(c.get("team"))
            tx = c.get("transcript") or {}
            state = tx.get("state") or "off"
            if mode == "off" and state not in ("on", "starting"):
                continue
            if state == "paused":
                continue
            watched = mode == "always"
            if mode == "monitored":
                if viewed is None:
                    viewed = await self._viewed()
                connected = any(m.get("status") == "connected" for m in c.get("monitors") or ())
                if connected or sid in viewed:
                    self._watched[sid] = now
                watched = now - self._watched.get(sid, -1e9) <= self.grace_seconds
            # From the moment an agent is with the customer: hold music in a queue is not
            # worth transcribing.
            leg = customer_leg(c) if c.get("state") in ("talking", "hold") else None
            if watched and leg is not None and state in ("off", "error"):
                if now - self._failed.get(sid, -1e9) >= RETRY_SECONDS:
                    await self.start(sid, leg, self.language_of(c.get("team")))
            elif not watched and state in ("on", "starting"):
                await self.stop(sid, reason="nobody watches")
        for gone in [s for s in self._watched if s not in live]:
            del self._watched[gone]
        for gone in [s for s in self._failed if s not in live]:
            del self._failed[gone]

    async def start(self, sid: str, leg: str, language: str | None = None) -> bool:
        language = language or self.language
        try:
            made = await self.twilio.start_transcription(
                leg,
                name=NAME,
                track="both_tracks",
                status_callback_url=self.status_callback_url,
                status_callback_method="POST",
                partial_results=True,
                inbound_track_label="customer",
                outbound_track_label="agent",
                language_code=language,
            )
        except CoachError as exc:
            self._failed[sid] = time.monotonic()
            log.info("could not start transcribing %s: %s", sid, exc.message)
            await self.transcripts.set_state(sid, "failed", err=exc.message[:200])
            return False
        self.starts += 1
        await self.transcripts.set_state(sid, "started", gt=str(made.sid), call=leg, lang=language)
        return True

    async def stop(self, sid: str, reason: str) -> None:
        doc = await self.floor.read(sid)
        tx: Transcript = (doc.get("transcript") if doc is not None else None) or {}
        gt, leg = tx.get("transcription_sid"), tx.get("call_sid")
        if gt and leg:
            await self.twilio.stop_transcription(str(leg), str(gt))
            self.stops += 1
            await self.transcripts.set_state(sid, "stopped", gt=gt)
        log.debug("stopped transcribing %s (%s)", sid, reason)

    # -- pause for a payment, and resume --------------------------------------------

    async def _conference_of(self, call_or_conference: str) -> Conference:
        sid = call_or_conference
        if call_or_conference.startswith("CA"):
            found = await self.floor.call(call_or_conference)
            if found is None:
                raise CoachError(404, "unknown-call", f"no live call {call_or_conference}")
            sid = found["conference_sid"]
        return await live_document(self.floor, sid)

    def _check(self, who: str, mode: str, doc: Conference) -> None:
        """A supervisor acts on a call their role reaches (access/modes.py): pausing as
        listening does, muting alerts as whispering does. An agent (`agent:ID`) was checked
        against its own call by the API."""
        if who.startswith("agent:"):
            return
        supervisor = self.roster.supervisors.get(who)
        if supervisor is None:
            raise CoachError(422, "unknown-supervisor", f"{who!r} is not a supervisor")
        reason = refusal(supervisor, mode, self.floor.render_read(doc).get("team"))
        if reason is not None:
            raise CoachError(403, "not-allowed", reason)

    async def pause(self, call_or_conference: str, who: str) -> Json:
        """Stop transcribing the call until it is resumed: nothing said meanwhile is kept."""
        doc = await self._conference_of(call_or_conference)
        self._check(who, "listen", doc)
        sid = doc["sid"]
        tx: Transcript = doc.get("transcript") or {}
        # Paused first (what still arrives is dropped), then stopped at Twilio.
        outcome = await self.transcripts.set_state(sid, "pause", by=who)
        if outcome == "applied":
            gt, leg = tx.get("transcription_sid"), tx.get("call_sid")
            if gt and leg and tx.get("state") in ("on", "starting"):
                try:
                    await self.twilio.stop_transcription(leg, gt)
                    self.stops += 1
                except CoachError as exc:
                    log.warning(
                        "pausing %s: Twilio did not stop the transcription: %s", sid, exc.message
                    )
            if self.recording is not None:
                await self.recording.set_status(sid, "paused")
            await self._audit("transcript-paused", who, doc)
        return await self.state(sid)

    async def resume(self, call_or_conference: str, who: str) -> Json:
        doc = await self._conference_of(call_or_conference)
        self._check(who, "listen", doc)
        sid = doc["sid"]
        outcome = await self.transcripts.set_state(sid, "resume", by=who)
        if outcome == "applied":
            if self.recording is not None:
                await self.recording.set_status(sid, "in-progress")
            await self._audit("transcript-resumed", who, doc)
            conference = self.floor.render_read(await self.floor.read(sid) or doc)
            leg = customer_leg(conference)
            mode = self.mode(conference.get("team"))
            if leg is not None and (
                mode == "always" or (mode == "monitored" and sid in self._watched)
            ):
                await self.start(sid, leg, self.language_of(conference.get("team")))
        return await self.state(sid)

    async def mute(self, sid: str, who: str) -> Json:
        """Silence the call's phrase alerts raised so far (a later, other phrase raises again)."""
        doc = await self._conference_of(sid)
        self._check(who, "whisper", doc)
        outcome = await self.transcripts.set_state(sid, "mute", by=who)
        if outcome == "applied":
            phrases = sorted({p for h in doc.get("phrases_heard") or () if (p := h.get("phrase"))})
            await self._audit("phrase-muted", who, doc, detail=", ".join(phrases)[:200])
        return await self.state(sid)

    async def state(self, sid: str) -> Json:
        rendered = self.floor.render(await self.floor.document(sid) or {"sid": sid})
        return {
            "sid": sid,
            "transcript": rendered.get("transcript"),
            "phrases": rendered.get("phrases") or [],
        }

    async def _audit(self, action: str, who: str, doc: Conference, detail: str = "") -> None:
        agent = agent_leg(doc)
        try:
            await self.audit.record(
                action,
                who,
                doc["sid"],
                friendly_name=doc.get("friendly_name") or "",
                agent=agent[1] if agent else "",
                detail=detail,
            )
        except Exception:  # the audit must never undo the action
            log.warning("could not audit %s on %s", action, doc["sid"], exc_info=True)
