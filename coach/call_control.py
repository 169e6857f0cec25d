"""Ending a call, or removing one leg of it, from the board (issue 27 §3), through the twilio SDK.

- end: the conference's update to `completed` ends it for everyone still on it (Twilio's
  Conference resource, `Status=completed`: https://www.twilio.com/docs/voice/api/conference-resource,
  "update a conference"; the conference-end callback then says `conference-ended-via-api`);
- remove a leg: the Participant's delete hangs up that one call ("manipulate a conference's
  current participants by muting or removing them":
  https://www.twilio.com/docs/api/rest/participant) (a forgotten supervisor
  leg, an agent who walked away leaving a caller); a monitor's leg goes through the coach's
  leave, so its monitor is cleared as when they leave themselves.

Who may is access/policy.py's `may_run` (the call's team's lead, managers); every action is
audited under the supervisor who took it, with the agent and the leg it touched.
"""

from __future__ import annotations

from typing import Any

from coach.actions import Coach, live_or_refuse
from core.audit import Audit
from core.twilio_errors import CoachError
from live.store import LiveFloor


class CallControl:
    def __init__(self, floor: LiveFloor, coach: Coach, audit: Audit) -> None:
        self.floor, self.coach, self.audit = floor, coach, audit

    async def live_call(self, sid: str) -> dict[str, Any]:
        return live_or_refuse(sid, await self.floor.conference(sid))

    async def end_call(self, supervisor: str, sid: str) -> dict[str, Any]:
        conference = await self.live_call(sid)
        agent = conference.get("agent") or ""
        try:
            await self.coach.twilio.end_conference(sid)
        except CoachError as exc:
            await self.audit.record(
                "end-call",
                supervisor,
                sid,
                agent=agent,
                outcome="refused",
                friendly_name=conference.get("friendly_name") or "",
                detail=exc.message,
            )
            raise
        await self.audit.record(
            "end-call",
            supervisor,
            sid,
            agent=agent,
            friendly_name=conference.get("friendly_name") or "",
        )
        return {"conference_sid": sid, "status": "ending", "agent": agent or None}

    async def remove_leg(self, supervisor: str, sid: str, call_sid: str) -> dict[str, Any]:
        conference = await self.live_call(sid)
        agent = conference.get("agent") or ""
        leg = next(
            (p for p in conference.get("participants") or () if p.get("call_sid") == call_sid), None
        )
        monitor = next(
            (m for m in conference.get("monitors") or () if m.get("call_sid") == call_sid), None
        )
        if leg is None and monitor is None:
            raise CoachError(404, "unknown-leg", f"{call_sid} is not on conference {sid}")
        role = (leg or {}).get("role") or "supervisor"
        try:
            if monitor is not None:
                await self.coach.leave(
                    sid, str(monitor["supervisor"]), reason=f"removed by {supervisor}"
                )
            else:
                await self.coach.twilio.delete_participant(sid, call_sid)
        except CoachError as exc:
            await self.audit.record(
                "remove-leg",
                supervisor,
                sid,
                agent=agent,
                call_sid=call_sid,
                outcome="refused",
                detail=f"{role}: {exc.message}",
            )
            raise
        await self.audit.record(
            "remove-leg", supervisor, sid, agent=agent, call_sid=call_sid, detail=role
        )
        return {"conference_sid": sid, "call_sid": call_sid, "role": role}
