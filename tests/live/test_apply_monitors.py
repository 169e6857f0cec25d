"""What an apply answers about a conference's supervisors (ApplyResult.monitors).

The coach acts on it without reading the document: at an end it records each supervisor's
leave, at an agent's leave it turns a whisper back to listen. Issue 29: an agent's leave used
to read the whole document back to find, nearly always, no supervisor at all; the apply now
says how many there are after every event it applies."""

from __future__ import annotations

import asyncio
import uuid

from core.redis_client import RedisTarget, async_client
from live.events import parse_conference_event
from live.roster import load as load_roster
from live.store import LiveFloor
from tests.helpers import Conference, sid

ANY_TIME = 2**62  # any skew: these parse Twilio's own Timestamp, whatever today's date


def test_every_applied_event_answers_how_many_supervisors_are_on_the_call(
    redis_target: RedisTarget,
) -> None:
    async def run() -> None:
        redis = async_client(redis_target)
        floor = LiveFloor(redis, namespace="m" + uuid.uuid4().hex[:10], roster=load_roster(None))

        async def apply(params: dict[str, str]) -> tuple[str, int]:
            result = await floor.apply(parse_conference_event(params, 0, max_skew_ms=ANY_TIME))
            return result.outcome, result.monitors

        try:
            alone, watched = Conference(), Conference()
            for conf in (alone, watched):
                customer, agent = sid("CA"), sid("CA")
                assert await apply(conf.event("conference-start")) == ("applied", 0)
                join = conf.event("participant-join", customer, ParticipantLabel="customer")
                assert await apply(join) == ("applied", 0)
                assert await apply(join) == ("duplicate", 0)
                agent_join = conf.event("participant-join", agent, ParticipantLabel="agent:bob")
                assert await apply(agent_join) == ("applied", 0)
                if conf is watched:
                    claimed = await floor.monitor_op(
                        "claim", conf.sid, sup="mina", mode="whisper", takeover=False
                    )
                    assert claimed.result == "ok"
                expected = 1 if conf is watched else 0
                speak = conf.event("participant-speech-start", customer,
                                   ParticipantLabel="customer")  # fmt: skip
                assert (await apply(speak))[1] == expected
                leave = conf.event("participant-leave", agent, ParticipantLabel="agent:bob")
                assert await apply(leave) == ("applied", expected)
                end = conf.event("conference-end", ReasonConferenceEnded="last-participant-left")
                assert await apply(end) == ("applied", expected)
                # A late event of an ended call changes nothing and names nobody.
                late = conf.event("participant-leave", customer, ParticipantLabel="customer")
                assert await apply(late) == ("stale", 0)
        finally:
            await redis.aclose()

    asyncio.run(run())
