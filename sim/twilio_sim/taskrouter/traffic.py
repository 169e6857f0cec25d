"""A believable TaskRouter floor: callers arrive in queues, wait, talk, and some give up.

Callers arrive (Poisson, `calls_per_minute`) in one of the Workspace's queues
and wait for TaskRouter to route them; an accepted call talks for a while (speech
turns, as its conference is subscribed to speaker events) and
the caller hangs up (the conference ends; the task wraps up, then completes).
A caller still waiting past their patience hangs up (task.canceled). Now and
then an agent takes a break and comes back. Time may be hurried (time_scale).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from twilio_sim.engine import SimError
from twilio_sim.taskrouter.model import ASSIGNED, PENDING, RESERVED
from twilio_sim.taskrouter.workspace import Workspace
from twilio_sim.traffic import GONE, Dialogue, Generator, customer_number
from twilio_sim.transcriptions import Transcriber

# How often a waiting caller looks whether an agent took the call (simulated seconds).
WAIT_STEP_SECONDS = 1.0


@dataclass
class TaskRouterTraffic:
    calls_per_minute: float = 12.0
    time_scale: float = 1.0
    talk_seconds: tuple[float, float] = (45.0, 300.0)
    patience_seconds: tuple[float, float] = (30.0, 180.0)
    breaks_per_hour_per_agent: float = 1.0
    break_seconds: tuple[float, float] = (60.0, 300.0)


class QueueFloor(Generator):
    def __init__(
        self,
        workspace: Workspace,
        config: TaskRouterTraffic,
        rng: random.Random,
        transcriber: Transcriber | None = None,
    ) -> None:
        # With a transcription running on a call, its turns are lines of a dialogue, as on
        # the other generator's calls (without it, a transcribed team's routed calls spoke
        # in speech events and were archived with no words: a trial's finding). Twilio
        # transcribes whatever a running transcription hears, however the call was routed
        # (https://www.twilio.com/docs/voice/api/realtime-transcription-resource); nothing
        # new is sent: the same speech and transcription callbacks as on any call.
        super().__init__(rng, config.time_scale, transcriber)
        self.ws, self.config = workspace, config

    async def run(self) -> None:
        self._spawn(self.breaks())
        await self.arrivals(self.config.calls_per_minute, self.caller)

    async def caller(self) -> None:
        queues = sorted({q.name for q in self.ws.queues.values()})
        if not queues:
            return
        task = self.ws.enqueue(self.rng.choice(queues), customer_number(self.rng))
        patience = self.rng.uniform(*self.config.patience_seconds)
        try:
            # Wait until an agent takes the call, or patience runs out (a second a look).
            waited = 0.0
            while task.status in (PENDING, RESERVED) and waited < patience:
                await self.sleep(WAIT_STEP_SECONDS)
                waited += WAIT_STEP_SECONDS
            if task.status in (PENDING, RESERVED):
                self.ws.abandon(task.sid)  # gave up waiting
                return
            if task.status != ASSIGNED:
                return
            # Talk from the moment the agent answers, with speech turns.
            await self.talk(task.sid, self.rng.uniform(*self.config.talk_seconds))
            conference = self.ws.voice.live_conference_named(task.sid)
            if conference is not None:
                self.ws.voice.hang_up(conference, task.attributes["call_sid"])
        except SimError:
            return

    async def talk(self, task_sid: str, seconds: float) -> None:
        """Caller and agent take turns for `seconds`. The conference instruction's
        conference is subscribed to every event group, `speaker` too, so Twilio would send
        each turn's participant-speech-start/stop (issue 28: a call that never spoke read
        as dead air for its whole life)."""
        voice, left = self.ws.voice, seconds
        caller = self.ws.tasks[task_sid].attributes.get("call_sid")
        talk = Dialogue()
        while left > 0:
            conference = voice.live_conference_named(task_sid)
            # The caller and the agent talk; a supervisor who joined does not.
            if conference is None:
                return
            on = [
                p for p in conference.connected() if not (p.label or "").startswith("supervisor:")
            ]
            if not on:
                return
            # (No labels: the conference instruction takes none. The caller is the task's call.)
            customer = next((p for p in on if p.call_sid == caller), None)
            agent = next((p for p in on if p.call_sid != caller), None)
            if customer is not None and agent is not None:
                took = await self.say_next(conference, customer, agent, talk)
                if took == GONE:
                    return
                if took is not None:
                    left -= took
                    continue
            speaker = self.rng.choice(on)
            turn = min(left, self.rng.uniform(1.5, 7.0))
            voice.act(conference, "speech-start", speaker.call_sid)
            await self.sleep(turn)
            if conference.status == "completed" or speaker.status != "connected":
                return
            voice.act(conference, "speech-stop", speaker.call_sid)
            gap = self.rng.uniform(0.2, 1.5)
            await self.sleep(gap)
            left -= turn + gap

    async def breaks(self) -> None:
        rate = self.config.breaks_per_hour_per_agent * max(1, len(self.ws.workers)) / 3600.0
        if rate <= 0:
            return
        while True:
            await self.sleep(self.rng.expovariate(rate))
            free = [w for w in self.ws.workers.values() if w.activity.available and not w.task]
            if free:
                self._spawn(self.one_break(self.rng.choice(free).name))

    async def one_break(self, agent: str) -> None:
        self.ws.set_activity(agent, "Break")
        await self.sleep(self.rng.uniform(*self.config.break_seconds))
        self.ws.set_activity(agent, "Available")
