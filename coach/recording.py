"""Recording calls for QA through the twilio SDK (issue 16): start, pause, resume.

A team with `record = true` in the roster has every call recorded from the moment an
agent is with the customer: once a second, the ticking process starts a recording
(`POST /Calls/{CallSid}/Recordings.json`, the customer's leg, both tracks, dual
channel: the customer on one, everyone they hear on the other) on each such call
that has none, with its status callbacks at `/twilio/recording-events`. Twilio
completes it when the call ends.

A payment pauses it with the transcript (coach/transcription.py calls `pause` and
`resume` here): `Status=paused` with PauseBehavior `skip`, so the card is not in
the audio at all, and `in-progress` again on resume.

The recording's SID is kept against its conference (`{ns}:rec:{sid}`, and an
index RecordingSid -> ConferenceSid for the callbacks that arrive after the call's
legs have left the floor), so the archive knows each call's recordings. Every
change goes through live/recordings.py: a recording's state only moves forward,
and one that changes after the call was archived reaches its archive record.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from core.times import iso
from core.twilio_calls import TwilioCalls
from core.twilio_errors import CoachError
from live.model import Json, customer_leg
from live.recordings import ENDED, RecordingStates
from live.roster import Roster
from live.store import LiveFloor, text

log = logging.getLogger("earpiece.recording")

RETRY_SECONDS = 30.0
EVENTS = ["in-progress", "completed", "absent"]


@dataclass
class Recording:
    floor: LiveFloor
    twilio: TwilioCalls
    roster: Roster
    status_callback_url: str
    _failed: dict[str, float] = field(default_factory=dict)
    started: int = 0
    states: RecordingStates = field(init=False)

    def __post_init__(self) -> None:
        self.states = RecordingStates(self.floor.redis, self.floor.keys, self.floor.history_seconds)

    @property
    def index(self) -> str:
        return self.states.index

    def wanted(self, team: str | None) -> bool:
        found = self.roster.teams.get(team) if team else None
        return bool(found and found.record)

    async def recordings(self, sid: str) -> dict[str, Json]:
        raw: Any = await self.floor.redis.hgetall(self.floor.keys.recordings(sid))
        return {text(k): orjson.loads(v) for k, v in raw.items()}

    async def run_once(self, conferences: list[Json]) -> None:
        now = time.monotonic()
        live = set()
        for c in conferences:
            sid = c["sid"]
            live.add(sid)
            if not self.wanted(c.get("team")) or c.get("state") not in ("talking", "hold"):
                continue
            leg = customer_leg(c)
            if leg is None or now - self._failed.get(sid, -1e9) < RETRY_SECONDS:
                continue
            if await self.floor.redis.exists(self.floor.keys.recordings(sid)):
                continue
            await self.start(sid, leg, paused=(c.get("transcript") or {}).get("state") == "paused")
        for gone in [s for s in self._failed if s not in live]:
            del self._failed[gone]

    async def start(self, sid: str, leg: str, paused: bool = False) -> None:
        try:
            made = await self.twilio.start_recording(
                leg,
                recording_status_callback=self.status_callback_url,
                recording_status_callback_event=EVENTS,
                recording_channels="dual",
                recording_track="both",
            )
        except CoachError as exc:
            self._failed[sid] = time.monotonic()
            log.info("could not start recording %s: %s", sid, exc.message)
            return
        self.started += 1
        await self.note(
            sid,
            {
                "sid": str(made.sid),
                "call_sid": leg,
                "status": "in-progress",
                "started_at": iso(time.time() * 1000),
                "duration": None,
            },
        )
        if paused:  # started while a payment was under way: paused at once
            await self.set_status(sid, "paused")

    async def note(self, sid: str, recording: Json) -> str:
        """Keep (or update) what Earpiece knows of a recording of conference `sid`, forward
        only (live/recordings.py): applied | archived | stale | unchanged."""
        return await self.states.note(sid, recording)

    async def conference_of(self, recording_sid: str) -> str | None:
        return await self.states.conference_of(recording_sid)

    async def set_status(self, sid: str, status: str) -> None:
        """paused | in-progress on each of the call's recordings still running."""
        for rec in (await self.recordings(sid)).values():
            if rec.get("status") in ENDED or rec.get("status") == "stopped":
                continue
            try:
                await self.twilio.update_recording(
                    str(rec["call_sid"]), str(rec["sid"]), status=status, pause_behavior="skip"
                )
            except CoachError as exc:
                log.warning(
                    "recording %s of %s: Twilio did not %s it: %s",
                    rec["sid"],
                    sid,
                    "pause" if status == "paused" else "resume",
                    exc.message,
                )
                continue
            await self.note(sid, {"sid": rec["sid"], "status": status})
