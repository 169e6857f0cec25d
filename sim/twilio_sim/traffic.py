"""A believable floor: calls arrive, wait for an agent, talk, hold now and then, and end.

Each call runs <Dial><Conference> the way a TaskRouter floor does: the
conference's FriendlyName is the task SID, the customer joins with
endConferenceOnExit=true and waits (hold music: startConferenceOnEnter=false),
a free agent joins and starts the conference, they take turns speaking
(speech start/stop events), the customer is put on hold now and then, and the
call ends when the customer hangs up (ending the conference) or the agent
hangs up first (leaving the customer alone for a moment: FIELD-NOTES 2).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from twilio_sim import dialogues
from twilio_sim.engine import Engine, SimError
from twilio_sim.model import Conference, Participant, new_sid
from twilio_sim.tasks import cancel_all
from twilio_sim.transcriptions import Transcriber

log = logging.getLogger("earpiece.sim.traffic")


@dataclass
class TrafficConfig:
    calls_per_minute: float = 20.0
    speech: bool = True
    # Calls already talking when the simulator starts (benches, demos).
    prefill: int = 0
    # Seconds of simulated time per real second (tests and demos may hurry).
    time_scale: float = 1.0
    talk_seconds: tuple[float, float] = (45.0, 360.0)
    patience_seconds: tuple[float, float] = (60.0, 240.0)
    hold_share: float = 0.2
    hold_seconds: tuple[float, float] = (10.0, 45.0)
    agent_hangs_up_share: float = 0.15
    wrap_up_seconds: tuple[float, float] = (3.0, 10.0)


def customer_number(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"+8150{rng.randrange(10**7, 10**8)}"
    return f"+1415{rng.randrange(10**6, 10**7)}"


# `Generator.say_next` where the one whose line it is has left the call.
GONE = -1.0


@dataclass
class Dialogue:
    """Where a call is in the lines its two sides say (picked in the language transcribed,
    once a transcription runs on it)."""

    script: tuple[dialogues.Line, ...] | None = None
    said: int = 0


class Generator:
    """What a traffic generator stands on: hurried time, tasks it spawns (all stopped with
    it), callers arriving at random (Poisson) at a rate per minute, and, with a
    transcriber, calls whose turns are lines of a dialogue while a transcription runs."""

    time_scale: float
    rng: random.Random

    def __init__(
        self, rng: random.Random, time_scale: float, transcriber: Transcriber | None = None
    ) -> None:
        self.rng, self.time_scale = rng, time_scale
        self.transcriber = transcriber
        self._tasks: set[asyncio.Task[None]] = set()

    async def say_next(
        self, conference: Conference, customer: Participant, agent: Participant, talk: Dialogue
    ) -> float | None:
        """With a transcription running on `conference`, its next line said by the caller
        or the agent (speech events and the words Twilio would transcribe), then a pause:
        the call's seconds it took. None where no transcription runs (a turn is speech
        events only), and GONE when the one to speak has left."""
        if self.transcriber is None or not self.transcriber.running(conference):
            return None
        if talk.script is None:
            talk.script = dialogues.pick(self.rng, self.transcriber.language(conference))
        who, words = talk.script[talk.said % len(talk.script)]
        talk.said += 1
        speaker = customer if who == "customer" else agent
        if speaker.status != "connected":
            return GONE
        began = asyncio.get_running_loop().time()
        await self.transcriber.say(conference, speaker, words)
        await self.sleep(self.rng.uniform(0.2, 1.5))
        return (asyncio.get_running_loop().time() - began) * self.time_scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.time_scale)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def arrivals(
        self, per_minute: float, arrive: Callable[[], Coroutine[Any, Any, None]]
    ) -> None:
        if per_minute <= 0:
            return
        while True:
            await self.sleep(self.rng.expovariate(per_minute / 60.0))
            self._spawn(arrive())

    async def stop(self) -> None:
        await cancel_all(list(self._tasks))


class Traffic(Generator):
    def __init__(
        self,
        engine: Engine,
        agents: list[str],
        config: TrafficConfig,
        rng: random.Random,
        floor_number: str = "+15005550006",
        transcriber: Transcriber | None = None,
    ) -> None:
        # With a transcription running on a call, its turns are lines of a dialogue.
        super().__init__(rng, config.time_scale, transcriber if config.speech else None)
        self.engine = engine
        self.config = config
        self.floor_number = floor_number
        self.agents = agents
        self.free: asyncio.Queue[str] = asyncio.Queue()
        for agent in agents:
            self.free.put_nowait(agent)

    def uniform(self, bounds: tuple[float, float]) -> float:
        return self.rng.uniform(*bounds)

    async def run(self) -> None:
        for _ in range(min(self.config.prefill, len(self.agents))):
            self._spawn(self.call(prefilled=True))
        await self.arrivals(self.config.calls_per_minute, self.call)

    async def call(self, prefilled: bool = False) -> None:
        """One customer call, from arrival to the end."""
        engine = self.engine
        task = new_sid("WT")
        conference, customer = engine.dial_in(
            task,
            from_=customer_number(self.rng),
            to=self.floor_number,
            label="customer",
            start_on_enter=False,
            end_on_exit=True,
        )
        agent: str | None = None
        try:
            if prefilled:
                agent = self.free.get_nowait()
            else:
                try:
                    agent = await asyncio.wait_for(
                        self.free.get(),
                        self.uniform(self.config.patience_seconds) / self.config.time_scale,
                    )
                except TimeoutError:
                    self._hang_up(conference, customer)  # the customer gave up waiting
                    return
            if conference.status == "completed":
                return
            _, agent_leg = engine.dial_in(
                task,
                from_=self.floor_number,
                to=f"client:{agent}",
                label=f"agent:{agent}",
                start_on_enter=True,
                end_on_exit=False,
                direction="outbound-dial",
            )
            await self.talk(conference, customer, agent_leg)
            if conference.status != "completed":
                if self.rng.random() < self.config.agent_hangs_up_share:
                    self._hang_up(conference, agent_leg)
                    await self.sleep(self.rng.uniform(3.0, 8.0))  # "hello? ... hello?"
                self._hang_up(conference, customer)
            await self.sleep(self.uniform(self.config.wrap_up_seconds))
        except SimError as exc:
            log.debug("call %s ended early: %s", task, exc.message)
        finally:
            if agent is not None:
                self.free.put_nowait(agent)

    def _hang_up(self, conference: Conference, p: Participant) -> None:
        if p.status == "connected" and conference.status != "completed":
            self.engine.leave(conference, p)

    async def talk(self, conference: Conference, customer: Participant, agent: Participant) -> None:
        engine = self.engine
        left = self.uniform(self.config.talk_seconds)
        # A share of calls has one hold, at some point in the middle of the talk.
        hold_at = (
            left * self.rng.uniform(0.3, 0.7)
            if self.rng.random() < self.config.hold_share
            else -1.0
        )
        talk = Dialogue()
        while left > 0 and conference.status != "completed":
            took = await self.say_next(conference, customer, agent, talk)
            if took == GONE:
                return  # the one to speak has left
            if took is not None:
                left -= took
                continue
            if hold_at >= 0 and left <= hold_at:
                hold_at = -1.0
                pause = self.uniform(self.config.hold_seconds)
                engine.act(conference, "hold", customer.call_sid)
                await self.sleep(pause)
                if conference.status == "completed":
                    return
                engine.act(conference, "unhold", customer.call_sid)
                left -= pause
                continue
            speaker = customer if self.rng.random() < 0.45 else agent
            turn = self.rng.uniform(1.5, 7.0)
            if self.config.speech and speaker.status == "connected":
                engine.act(conference, "speech-start", speaker.call_sid)
            await self.sleep(turn)
            if conference.status == "completed" or speaker.status != "connected":
                return
            if self.config.speech:
                engine.act(conference, "speech-stop", speaker.call_sid)
            gap = self.rng.uniform(0.2, 1.5)
            await self.sleep(gap)
            left -= turn + gap


def busy_duplicate(engine: Engine, agent: str, rng: random.Random) -> tuple[Conference, Conference]:
    """FIELD-NOTES 4: an outbound call answered "busy" leaves before the agent joins.

    The customer leg joins and leaves at once (busy), which ends the
    conference; the agent's join, a moment later, makes a second conference
    with the same FriendlyName and one lonely participant.
    """
    task = new_sid("WT")
    first, customer = engine.dial_in(
        task,
        from_="+15005550006",
        to=customer_number(rng),
        label="customer",
        start_on_enter=True,
        end_on_exit=True,
        direction="outbound-api",
    )
    engine.leave(first, customer, reason="participant_hung_up")
    second, _ = engine.dial_in(
        task,
        from_="+15005550006",
        to=f"client:{agent}",
        label=f"agent:{agent}",
        start_on_enter=True,
        end_on_exit=False,
        direction="outbound-dial",
    )
    return first, second
