"""An ended call's transcript is off, whenever Twilio's `transcription-stopped` comes.

A real-time transcription ends with its call. Its stop callback can arrive after the
conference's end (a call hung up right after its last words: the final line and the stop
trail the hang-up), when a state change of the ended call is no longer taken; the ended
call then read "transcribing" for ever (found by a newcomer following the README's
`say ... hang_up`). English and Japanese calls alike: the state carries no words."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from core.redis_client import RedisTarget, async_client
from live.events import parse_conference_event
from live.roster import load as load_roster
from live.store import LiveFloor, now_ms
from live.transcript import Transcripts
from tests.helpers import Conference, sid

ANY_TIME = 2**62  # any skew: these parse Twilio's own Timestamp, whatever today's date


@pytest.mark.parametrize(
    ("before_end", "language"),
    [
        ("on", "en-US"),
        ("on", "ja-JP"),
        ("paused", "ja-JP"),  # paused for a payment at the end: says who paused it
        ("error", "en-US"),  # a failed one keeps its error for QA
    ],
)
def test_the_transcript_of_an_ended_call_is_off_even_when_its_stop_comes_late(
    redis_target: RedisTarget, before_end: str, language: str
) -> None:
    async def run() -> None:
        redis = async_client(redis_target)
        floor = LiveFloor(redis, namespace="t" + uuid.uuid4().hex[:10], roster=load_roster(None))
        transcripts = Transcripts(redis, floor, load_roster(None), 1000, 600)
        conf = Conference()

        async def shown(field: str) -> object:
            """The call's transcript as the API renders it (its state, its language)."""
            doc = await floor.document(conf.sid)
            assert doc is not None
            return floor.render(doc, now_ms())["transcript"][field]

        async def apply(params: dict[str, str]) -> str:
            event = parse_conference_event(params, 0, max_skew_ms=ANY_TIME)
            return (await floor.apply(event)).outcome

        try:
            customer, agent = sid("CA"), sid("CA")
            assert await apply(conf.event("conference-start")) == "applied"
            for call, label in ((customer, "customer"), (agent, "agent:bob")):
                join = conf.event("participant-join", call, ParticipantLabel=label)
                assert await apply(join) == "applied"
            gt = sid("GT")
            started = await transcripts.set_state(
                conf.sid, "started", gt=gt, call=customer, lang=language
            )
            assert started == "applied"
            if before_end == "paused":
                assert await transcripts.set_state(conf.sid, "pause", by="mina") == "applied"
            if before_end == "error":
                failed = await transcripts.set_state(conf.sid, "failed", gt=gt, err="32655")
                assert failed == "applied"
            assert await shown("state") == before_end

            end = conf.event("conference-end", ReasonConferenceEnded="last-participant-left")
            assert await apply(end) == "applied"
            # Twilio's stop, after the end: the ended call takes no state change...
            assert await transcripts.set_state(conf.sid, "stopped", gt=gt) == "ended"
            ended = await floor.document(conf.sid)
            assert ended is not None and floor.render(ended, now_ms())["status"] == "completed"
            # ...and it is off all the same; a failed or paused one still says so.
            assert await shown("state") == ("off" if before_end == "on" else before_end)
            assert await shown("language") == language
        finally:
            await transcripts.close()
            await redis.aclose()

    asyncio.run(run())
