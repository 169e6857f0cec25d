"""Listen, whisper and barge: a supervisor's leg in a live conference, and its mode.

Join creates a participant that is muted, with no beep, whatever the mode
asked for (FIELD-NOTES 8: whisper mistakes reach customers), and reads it back
to be sure. A requested whisper or barge is applied when the leg has joined
the conference. Every switch is an update of that same leg (same CallSid, no
rejoin). The atomic rules (one whisperer per call, one call per supervisor)
are checked and claimed in Redis first (live/monitor.lua), and only then is
Twilio asked. Every step is audited.

Legs also change outside the app: the supervisor hangs up, never answers, the
call fails, the agent leaves while being coached. Callbacks bring those here
(`on_*`), and a sweep clears legs stuck dialing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

from access.modes import MODES, NO_AGENT, refusal
from core import metrics
from core.audit import Audit
from core.documents import Conference, Monitor
from core.tasks import cancel_all
from core.twilio_calls import TwilioCalls
from core.twilio_errors import CoachError
from live.events import ConferenceEvent
from live.model import card_json, monitor_json, role_of
from live.redact import mask
from live.roster import Roster, Supervisor
from live.store import LiveFloor, MonitorResult, now_ms

log = logging.getLogger("earpiece.coach")

MAX_CARD_CHARS = 280
# Reading customers' numbers from Twilio: how many at once, how many may wait,
# and how long to stop asking when Twilio does not answer.
NUMBER_READERS = 4
# Every agent's join asks who follows them: a read this recent is reused.
FOLLOWS_MAX_AGE_SECONDS = 0.5
NUMBER_BACKLOG = 1000
NUMBER_PAUSE_SECONDS = 30.0
CALL_PROGRESS_EVENTS = ["initiated", "ringing", "answered", "completed"]
ENDED_CALL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


def flags_for(mode: str, agent_call_sid: str | None) -> dict[str, Any]:
    """The participant flags of each mode, as Twilio's update takes them."""
    if mode == "listen":
        return {"muted": True, "coaching": False}
    if mode == "whisper":
        return {"muted": False, "coaching": True, "call_sid_to_coach": agent_call_sid}
    return {"muted": False, "coaching": False}


Found = TypeVar("Found", bound=Mapping[str, Any])


def live_or_refuse(sid: str, found: Found | None) -> Found:
    """The one rule for acting on a call, its stored document or its rendered view alike:
    404 when the floor does not know it, 409 when it has ended; else the call as found."""
    if found is None:
        raise CoachError(404, "unknown-conference", f"no conference {sid}")
    if found.get("status") == "completed":
        raise CoachError(409, "conference-ended", f"conference {sid} has ended")
    return found


async def live_document(floor: LiveFloor, sid: str) -> Conference:
    """A live conference's document (refused as `live_or_refuse` says)."""
    return live_or_refuse(sid, await floor.read(sid))


def agent_leg(doc: Conference) -> tuple[str, str] | None:
    """(CallSid, agent id) of the agent connected to the call, if any."""
    for p in doc["participants"].values():
        role, ident = role_of(p.get("label"))
        if role == "agent" and p.get("present") and ident:
            return p["call_sid"], ident
    return None


class Coach:
    def __init__(
        self,
        floor: LiveFloor,
        roster: Roster,
        twilio: TwilioCalls,
        audit: Audit,
        *,
        caller_id: str,
        call_events_url: str,
        dialing_timeout_seconds: float,
    ) -> None:
        self.floor = floor
        self.roster = roster
        self.twilio = twilio
        self.audit = audit
        self.caller_id = caller_id
        self.call_events_url = call_events_url
        self.dialing_timeout_ms = int(dialing_timeout_seconds * 1000)
        self._background: set[asyncio.Task[None]] = set()
        # Customers' numbers to read from Twilio: a bounded backlog, a few at a time.
        self._numbers: asyncio.Queue[tuple[str, str]] = asyncio.Queue(NUMBER_BACKLOG)
        self._number_readers = 0
        self._numbers_paused_until = 0.0

    # -- checks shared by the actions ------------------------------------------

    def supervisor(self, ident: str) -> Supervisor:
        found = self.roster.supervisors.get(ident)
        if found is None:
            raise CoachError(
                422, "unknown-supervisor", f"{ident!r} is not a supervisor in the roster"
            )
        return found

    async def _live_doc(self, sid: str) -> Conference:
        return await live_document(self.floor, sid)

    def _check(self, who: Supervisor, mode: str, doc: Conference) -> tuple[str, str] | None:
        if mode not in MODES:
            raise CoachError(422, "bad-mode", f"mode must be one of {', '.join(MODES)}")
        conference = self.floor.render_read(doc)
        reason = refusal(who, mode, conference["team"])
        if reason:
            raise CoachError(403, "not-allowed", reason)
        agent = agent_leg(doc)
        if mode == "whisper" and agent is None:
            raise CoachError(409, "no-agent", NO_AGENT)
        return agent

    @staticmethod
    def _refused(result: MonitorResult, sid: str, who: str) -> CoachError:
        if result.result == "unknown":
            return CoachError(404, "unknown-conference", f"no conference {sid}")
        if result.result == "ended":
            return CoachError(409, "conference-ended", f"conference {sid} has ended")
        if result.result == "whisper-taken":
            return CoachError(
                409,
                "whisper-taken",
                f"{result.detail} is whispering on this call; ask to take over "
                '(send "takeover": true) or listen',
            )
        if result.result == "exists":
            return CoachError(
                409,
                "already-monitoring",
                f"{who} is already on this call; PATCH the monitor to switch modes",
            )
        if result.result == "elsewhere":
            return CoachError(409, "busy-elsewhere", f"{who} is on another call ({result.detail})")
        if result.result == "absent":
            return CoachError(404, "not-monitoring", f"{who} is not on conference {sid}")
        return CoachError(409, result.result, f"monitor operation refused: {result.result}")

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def stop(self) -> None:
        await cancel_all(list(self._background))

    async def _record_leave(self, who: str, doc: Conference, monitor: Monitor, detail: str) -> None:
        await self._record(
            "leave",
            who,
            doc,
            mode=monitor["mode"],
            call_sid=monitor.get("call_sid") or "",
            detail=detail,
        )

    async def _record(self, action: str, who: str, doc: Conference, **fields: Any) -> None:
        metrics.COACH_ACTIONS.labels(action, fields.get("outcome") or "ok").inc()
        agent = agent_leg(doc)
        with contextlib.suppress(Exception):  # the audit must never undo an action
            await self.audit.record(
                action,
                who,
                doc["sid"],
                friendly_name=doc.get("friendly_name") or "",
                agent=agent[1] if agent else "",
                **fields,
            )

    # -- the three actions -------------------------------------------------------

    async def join(self, sid: str, ident: str, mode: str, takeover: bool = False) -> dict[str, Any]:
        who = self.supervisor(ident)
        doc = await self._live_doc(sid)
        agent = self._check(who, mode, doc)
        current = await self.floor.supervisor_conference(ident)
        if current is not None and current != sid:
            # One call at a time: joining another call leaves the first.
            with contextlib.suppress(CoachError):
                await self.leave(current, ident, reason="joined another call")
        claimed = await self.floor.monitor_op("claim", sid, sup=ident, mode=mode, takeover=takeover)
        if claimed.result != "ok":
            raise self._refused(claimed, sid, ident)
        # A supervisor on the call answers the agent's help request.
        answered = await self.floor.monitor_op("unhelp", sid)
        if answered.result == "ok":
            await self._record("help-answered", ident, doc, detail=f"{answered.detail} asked")
        if claimed.detail:
            self._spawn(self._apply_current_mode(sid, claimed.detail))
        params: dict[str, Any] = {
            "from_": self.caller_id,
            "to": who.endpoint,
            "label": f"supervisor:{ident}",
            "muted": True,
            "beep": "false",
            # A supervisor's leg never changes the call for the people on it: it neither
            # starts a conference that has not started (a caller still waiting would lose
            # the wait music for silence: startConferenceOnEnter on
            # https://www.twilio.com/docs/voice/twiml/conference) nor ends one by leaving.
            # On a waiting call the supervisor waits with the caller until the agent's
            # join starts it.
            "start_conference_on_enter": False,
            "end_conference_on_exit": False,
            "status_callback": self.call_events_url,
            "status_callback_event": CALL_PROGRESS_EVENTS,
        }
        if mode == "whisper" and agent is not None:
            # Set up as the agent's coach from the start, still muted.
            params.update(coaching=True, call_sid_to_coach=agent[0])
        else:
            params["coaching"] = False
        try:
            leg = await self.twilio.create_participant(sid, **params)
            # Silence is checked, not assumed.
            back = await self.twilio.fetch_participant(sid, leg.call_sid)
            if back.muted is not True:
                await self.twilio.delete_participant(sid, leg.call_sid)
                raise CoachError(
                    502,
                    "not-muted",
                    "Twilio did not confirm the new leg is muted; "
                    "it was hung up before anyone could hear it",
                )
        except CoachError as exc:
            await self.floor.monitor_op("remove", sid, sup=ident)
            await self._record("join", ident, doc, mode=mode, outcome="failed", detail=exc.message)
            raise
        attached = await self.floor.monitor_op("attach", sid, sup=ident, call=leg.call_sid)
        queued = int(leg.queue_time or 0)
        await self._record(
            "join",
            ident,
            doc,
            mode=mode,
            call_sid=leg.call_sid,
            detail=f"queued {queued} ms by Twilio" if queued else "",
        )
        if back.status == "connected":
            self._spawn(self.on_leg_joined(sid, ident, leg.call_sid))
        monitor = attached.monitor or claimed.monitor
        assert monitor is not None
        return monitor_json(monitor)

    async def switch(
        self, sid: str, ident: str, mode: str, takeover: bool = False
    ) -> dict[str, Any]:
        who = self.supervisor(ident)
        doc = await self._live_doc(sid)
        agent = self._check(who, mode, doc)
        current = doc["monitors"].get(ident)
        if current is None:
            raise CoachError(404, "not-monitoring", f"{ident} is not on conference {sid}")
        if current["mode"] == mode:
            return monitor_json(current)
        changed = await self.floor.monitor_op("mode", sid, sup=ident, mode=mode, takeover=takeover)
        if changed.result != "ok":
            raise self._refused(changed, sid, ident)
        displaced = changed.detail
        if displaced:
            self._spawn(self._apply_current_mode(sid, displaced))
        monitor = changed.monitor
        assert monitor is not None
        outcome, detail = "ok", f"took the whisper over from {displaced}" if displaced else ""
        failure: CoachError | None = None
        if monitor["status"] == "connected" and monitor.get("call_sid"):
            try:
                await self._set_flags(sid, monitor["call_sid"], mode, agent[0] if agent else None)
            except CoachError as exc:
                # Back to what Twilio still has; the supervisor sees why.
                await self.floor.monitor_op(
                    "mode",
                    sid,
                    sup=ident,
                    mode=current["mode"],
                    note=f"switch failed: {exc.message}",
                )
                outcome, detail, failure = "failed", exc.message, exc
        await self._record(
            "switch",
            ident,
            doc,
            mode=mode,
            from_mode=current["mode"],
            outcome=outcome,
            call_sid=monitor.get("call_sid") or "",
            detail=detail,
        )
        if failure is not None:
            raise failure
        return monitor_json(monitor)

    async def leave(self, sid: str, ident: str, reason: str = "") -> None:
        doc = await self.floor.read(sid)
        if doc is None:
            raise CoachError(404, "unknown-conference", f"no conference {sid}")
        current = doc["monitors"].get(ident)
        if current is None:
            raise CoachError(404, "not-monitoring", f"{ident} is not on conference {sid}")
        if current.get("call_sid") and doc.get("status") != "completed":
            # Hanging up makes Twilio post the leg's leave; mark the monitor so
            # that callback removes it without recording a hang-up of its own.
            await self.floor.monitor_op("leaving", sid, sup=ident, value=True)
            try:
                await self.twilio.delete_participant(sid, current["call_sid"])
            except CoachError:
                await self.floor.monitor_op("leaving", sid, sup=ident, value=False)
                raise
        await self.floor.monitor_op("remove", sid, sup=ident)
        await self._record_leave(ident, doc, current, reason)

    # -- Twilio flags ---------------------------------------------------------------

    async def _set_flags(
        self, sid: str, call_sid: str, mode: str, agent_call_sid: str | None
    ) -> None:
        wanted = flags_for(mode, agent_call_sid)
        leg = await self.twilio.update_participant(sid, call_sid, **wanted)
        if leg.muted is not wanted["muted"] or bool(leg.coaching) is not wanted["coaching"]:
            raise CoachError(502, "not-applied", f"Twilio did not apply {mode} to the leg")

    async def _apply_current_mode(self, sid: str, ident: str) -> None:
        """Make Twilio's leg match the mode Redis holds (after a takeover or a join)."""
        doc = await self.floor.read(sid)
        monitor = doc["monitors"].get(ident) if doc is not None else None
        if doc is None or monitor is None or monitor.get("status") != "connected":
            return
        agent = agent_leg(doc)
        mode = monitor["mode"]
        if mode == "whisper" and agent is None:
            mode = "listen"
        try:
            await self._set_flags(sid, monitor["call_sid"], mode, agent[0] if agent else None)
        except CoachError as exc:
            log.warning("could not put %s's leg in %s: %s", ident, mode, exc.message)
            await self.floor.monitor_op(
                "mode", sid, sup=ident, mode="listen", note=f"{mode} failed: {exc.message}"
            )
            with contextlib.suppress(CoachError):
                await self._set_flags(sid, monitor["call_sid"], "listen", None)

    # -- what callbacks tell us ---------------------------------------------------------

    def react(self, event: ConferenceEvent, monitors: int | None = None) -> None:
        """After a join, leave or end was applied: update monitors, off the webhook's path.
        `monitors`: how many supervisors the apply found on the conference after the event
        (ApplyResult.monitors; None: not known); with none, an end has nothing to record and
        an agent's leave no whisper to turn back (no read of the document for either)."""
        sid, call = event.conference_sid, event.call_sid
        if event.event == "conference-end":
            if monitors != 0:
                self._spawn(self._safely(self.on_conference_ended(sid)))
            return
        role, ident = role_of(event.label)
        if role == "supervisor" and ident and call:
            if event.event == "participant-join":
                self._spawn(self._safely(self.on_leg_joined(sid, ident, call)))
            elif event.event == "participant-leave":
                # A leg that never joined (busy, no answer, failed) says so on the leave
                # itself; its call-progress callback may come before or after.
                why = "left the call"
                if event.reason == "participant_add_failed" and event.call_status:
                    why = f"the supervisor's leg ended ({event.call_status})"
                self._spawn(self._safely(self.on_leg_left(sid, ident, call, why)))
        elif role == "agent" and event.event == "participant-leave":
            if monitors != 0:
                self._spawn(self._safely(self.on_agent_left(sid)))
        elif role == "agent" and ident and event.event == "participant-join":
            # Most agents have no follower: known without a task or a round trip.
            if self.floor.followed(ident, FOLLOWS_MAX_AGE_SECONDS) is not False:
                self._spawn(self._safely(self.on_agent_joined(sid, ident)))
        elif role == "customer" and call and event.event == "participant-join":
            self._want_number(sid, call)

    def agent_identified(self, sid: str, agent: str) -> None:
        """An agent learnt late (a conference TaskRouter made: the task said who it is)."""
        if self.floor.followed(agent, FOLLOWS_MAX_AGE_SECONDS) is not False:
            self._spawn(self._safely(self.on_agent_joined(sid, agent)))

    @staticmethod
    async def _safely(work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception:  # a reaction must not die silently, nor take the service down
            log.exception("reacting to a conference event failed")

    async def on_leg_joined(self, sid: str, ident: str, call_sid: str) -> None:
        connected = await self.floor.monitor_op("connected", sid, sup=ident, call=call_sid)
        monitor = connected.monitor
        if connected.detail == "changed" and monitor is not None and monitor["mode"] != "listen":
            await self._apply_current_mode(sid, ident)

    async def on_agent_joined(self, sid: str, agent: str) -> None:
        """Follow-agent: supervisors following this agent join the new call, listening.
        One already on a call is not pulled off it."""
        for ident, followed in (await self.floor.follows(FOLLOWS_MAX_AGE_SECONDS)).items():
            if followed != agent or await self.floor.supervisor_conference(ident) is not None:
                continue
            try:
                await self.join(sid, ident, "listen")
            except CoachError as exc:
                log.info("%s could not follow %s into %s: %s", ident, agent, sid, exc.message)

    # -- from the agent's softphone, and text whispers --------------------------------------

    async def _agent_call(self, call_sid: str) -> tuple[Conference, str]:
        """The live conference of an agent's call, and the agent; 404 / 409 otherwise."""
        where = await self.floor.call(call_sid)
        if where is None:
            raise CoachError(404, "unknown-call", f"no live call {call_sid}")
        role, ident = role_of(where["label"])
        if role != "agent" or not ident:
            raise CoachError(409, "not-an-agent", f"{call_sid} is not an agent's leg")
        return await self._live_doc(where["conference_sid"]), ident

    async def ask_help(self, call_sid: str) -> dict[str, Any]:
        doc, agent = await self._agent_call(call_sid)
        await self.floor.monitor_op("help", doc["sid"], agent=agent, call=call_sid)
        await self._record("help", "", doc, call_sid=call_sid, detail=f"{agent} asks for help")
        return {"conference_sid": doc["sid"], "agent": agent, "call_sid": call_sid}

    async def cancel_help(self, call_sid: str) -> None:
        doc, agent = await self._agent_call(call_sid)
        cancelled = await self.floor.monitor_op("unhelp", doc["sid"])
        if cancelled.result == "ok":
            await self._record(
                "help-cancelled", "", doc, call_sid=call_sid, detail=f"{agent} no longer needs help"
            )

    async def send_card(self, call_sid: str, ident: str, text: str) -> dict[str, Any]:
        """A short text whisper to the agent: on the feed for the softphone, on the call page."""
        who = self.supervisor(ident)
        text = text.strip()
        if not text or len(text) > MAX_CARD_CHARS:
            raise CoachError(422, "bad-card", f"a card is 1 to {MAX_CARD_CHARS} characters")
        doc, agent = await self._agent_call(call_sid)
        reason = refusal(who, "whisper", self.floor.render_read(doc)["team"])
        if reason:
            raise CoachError(403, "not-allowed", reason)
        # Masked as a transcript line is, before anything keeps it (the call, the feed, the
        # audit, the archive): a supervisor may quote what the caller read out, and no card
        # number is kept in any form (a trial's card "カード番号は4532 0151 1283 0366です"
        # was kept whole in all four).
        text = mask(text)
        sent = await self.floor.monitor_op(
            "card", doc["sid"], sup=ident, text=text, call=call_sid, agent=agent
        )
        await self._record("card", ident, doc, call_sid=call_sid, detail=text)
        card = sent.card
        assert card is not None
        return card_json(card)

    async def follow(self, ident: str, agent: str | None) -> dict[str, Any]:
        """Join `agent`'s next calls automatically, listening (None: stop following)."""
        who = self.supervisor(ident)
        if agent is not None:
            team = self.roster.team_for(agent)
            if team is None:
                raise CoachError(422, "unknown-agent", f"{agent!r} is not an agent in the roster")
            reason = refusal(who, "listen", team.name)
            if reason:
                raise CoachError(403, "not-allowed", reason)
        await self.floor.follow(ident, agent)
        await self.audit.record("follow" if agent else "unfollow", ident, "", agent=agent or "")
        return {"supervisor": ident, "agent": agent}

    def _want_number(self, sid: str, call_sid: str) -> None:
        """Queue a customer's number to be read (FIELD-NOTES 5: callbacks must never wait
        on it, and a Twilio that does not answer must not tie up the process)."""
        with contextlib.suppress(asyncio.QueueFull):  # a nicety: dropped under a flood
            self._numbers.put_nowait((sid, call_sid))
        while self._number_readers < NUMBER_READERS:
            self._number_readers += 1
            self._spawn(self._read_numbers())

    async def _read_numbers(self) -> None:
        while True:
            sid, call_sid = await self._numbers.get()
            if time.monotonic() < self._numbers_paused_until:
                continue
            try:
                await self.on_customer_joined(sid, call_sid)
            except CoachError as exc:
                if exc.code == "twilio-unreachable":
                    # Twilio does not answer: stop asking for a while.
                    self._numbers_paused_until = time.monotonic() + NUMBER_PAUSE_SECONDS
                log.info("could not read the customer's number of %s: %s", call_sid, exc.message)
            except Exception:
                log.warning("reading a customer's number failed", exc_info=True)

    async def on_customer_joined(self, sid: str, call_sid: str) -> None:
        """Note the customer's number: conference callbacks carry only the CallSid,
        and a supervisor deciding where to go wants to know who is calling."""
        call = await self.twilio.fetch_call(call_sid)
        # An inbound call comes from the customer; an outbound one (a call-back) goes to them.
        outbound = str(getattr(call, "direction", "") or "").startswith("outbound")
        # The SDK keeps `from` as `_from` (a Python keyword).
        number = (call.to if outbound else getattr(call, "_from", None)) or ""
        if number:
            await self.floor.monitor_op("caller", sid, call=call_sid, number=number)

    async def on_leg_left(self, sid: str, ident: str, call_sid: str, why: str) -> None:
        doc = await self.floor.read(sid)
        removed = await self.floor.monitor_op("remove", sid, sup=ident, call=call_sid)
        monitor = removed.monitor
        if removed.result != "ok" or monitor is None or doc is None:
            return
        if monitor.get("leaving"):
            return  # the app hung it up, and records that itself
        await self._record_leave(ident, doc, monitor, why)

    async def on_agent_left(self, sid: str) -> None:
        """Nobody to coach any more: a whisper falls back to listen, and says so."""
        doc = await self.floor.read(sid)
        if doc is None or doc.get("status") == "completed" or agent_leg(doc) is not None:
            return
        for ident, monitor in doc["monitors"].items():
            if monitor.get("mode") != "whisper":
                continue
            # Twilio first, the board second: the board says "listen" only once
            # the leg is muted, so nobody reads listen while still heard.
            note = "the agent left the call: back to listen"
            if monitor.get("status") == "connected" and monitor.get("call_sid"):
                try:
                    await self._set_flags(sid, monitor["call_sid"], "listen", None)
                except CoachError as exc:
                    note = f"the agent left the call; muting your leg failed: {exc.message}"
            await self.floor.monitor_op("mode", sid, sup=ident, mode="listen", note=note)
            await self._record(
                "switch",
                ident,
                doc,
                mode="listen",
                from_mode="whisper",
                call_sid=monitor.get("call_sid") or "",
                detail="the agent left",
            )

    async def on_conference_ended(self, sid: str) -> None:
        doc = await self.floor.read(sid)
        for ident, monitor in (doc["monitors"] if doc is not None else {}).items():
            assert doc is not None
            await self._record_leave(ident, doc, monitor, "the call ended")

    async def on_call_status(self, call_sid: str, status: str) -> str:
        """A supervisor leg's call-progress callback; returns what it did."""
        if status not in ENDED_CALL_STATUSES:
            return "noted"
        leg = await self.floor.leg(call_sid)
        if leg is None:
            return "unknown-leg"
        ident, sid = leg
        await self.on_leg_left(sid, ident, call_sid, f"the supervisor's leg ended ({status})")
        return "removed"

    async def sweep_dialing(self) -> int:
        """Give up on legs that have been dialing too long; returns how many."""
        stuck = await self.floor.dialing_since(now_ms() - self.dialing_timeout_ms)
        for call_sid in stuck:
            leg = await self.floor.leg(call_sid)
            if leg is None:
                continue
            ident, sid = leg
            # The monitor goes first, with the reason: hanging up makes Twilio
            # post the leg's end, which must not be taken for a hang-up.
            await self.on_leg_left(sid, ident, call_sid, "the supervisor's leg never answered")
            with contextlib.suppress(CoachError):
                await self.twilio.delete_participant(sid, call_sid)
        return len(stuck)
