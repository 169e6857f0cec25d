"""A batch of callbacks applies exactly as the same callbacks one at a time.

live/apply.lua reads and decodes each conference's document once a batch, however many of
the batch's events are about it, and writes it (and its place in the live index) once at
the end (issue 29's profile). Hypothesis builds believable conferences (the stories of
tests/live/test_live_ordering.py), shuffles two of them together with duplicates, some with
idempotency tokens, and applies the arrival to two floors of a real Redis: one event a
call on one, the whole arrival as one script call on the other. Every event's outcome, the
feed's entries (each carrying the document after its own event), the stored documents,
their expiry, the timelines, the live index and the call index must be the same.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from live.events import parse_conference_event
from live.store import LiveFloor
from tests.helpers import Conference, sid
from tests.live.test_live_ordering import ANY_TIME, Runner, conference_story
from tests.live.test_live_ordering import runner as runner  # the fixture: a loop and a real Redis


async def _state(floor: LiveFloor, events: list[dict[str, str]]) -> dict[str, Any]:
    redis, k = floor.redis, floor.keys
    sids = sorted({e["ConferenceSid"] for e in events})
    calls = sorted({e["CallSid"] for e in events if "CallSid" in e})
    feed = [(entry.event, entry.sid, entry.doc) for entry in await floor.feed_after("0-0", 10_000)]
    documents = {}
    for cf in sids:
        raw = await redis.get(k.conference(cf))
        documents[cf] = {
            "doc": orjson.loads(raw) if raw else None,
            # The expiry's kind: none, or set (its seconds move with the clock).
            "ttl": [await redis.ttl(key) > 0 for key in
                    (k.conference(cf), k.seen(cf), k.tokens(cf), k.timeline(cf))],
            "timeline": await redis.lrange(k.timeline(cf), 0, -1),
        }  # fmt: skip
    return {
        "feed": feed,
        "documents": documents,
        "live": await redis.zrange(k.live, 0, -1, withscores=True),
        "calls": {c: await redis.hget(k.calls, c) for c in calls},
        "left": {c: await redis.hget(k.left, c) for c in calls},
        "ended": await redis.zrange(k.ended, 0, -1, withscores=True),
    }


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    first=conference_story(),
    second=conference_story(),
    tokens=st.booleans(),
    data=st.data(),
)
def test_one_batch_applies_as_one_event_at_a_time(
    runner: Runner,
    first: list[dict[str, str]],
    second: list[dict[str, str]],
    tokens: bool,
    data: st.DataObject,
) -> None:
    arrival = data.draw(st.permutations(first + second))
    duplicates = data.draw(st.lists(st.sampled_from(arrival), max_size=6))
    for dup in duplicates:
        position = data.draw(st.integers(0, len(arrival)))
        arrival = [*arrival[:position], dup, *arrival[position:]]
    events = [
        parse_conference_event(
            params,
            0,
            # A retried delivery carries the first one's token: some duplicates meet it.
            idempotency_token=f"{params['SequenceNumber']}" if tokens else None,
            max_skew_ms=ANY_TIME,
        )
        for params in arrival
    ]
    alone, together = runner.floor(), runner.floor()
    calls = 0
    run = together._apply._run

    async def counted(batch: Any) -> list[Any]:
        nonlocal calls
        calls += 1
        return await run(batch)

    together._apply._run = counted  # type: ignore[method-assign]

    async def one_at_a_time() -> list[Any]:
        return [await alone.apply(event) for event in events]

    async def at_once() -> list[Any]:
        return list(await asyncio.gather(*(together.apply(event) for event in events)))

    first_results = runner.run(one_at_a_time())
    batch_results = runner.run(at_once())
    assert calls == 1  # the whole arrival went as one batch
    assert [(r.outcome, r.monitors, r.feed_id is None) for r in batch_results] == [
        (r.outcome, r.monitors, r.feed_id is None) for r in first_results
    ]
    assert runner.run(_state(together, arrival)) == runner.run(_state(alone, arrival))


def test_a_conference_ended_and_late_in_one_batch_keeps_its_expiry(runner: Runner) -> None:
    """An end and a late older event in one batch: the document is written once, with the
    history's expiry the end gave it (as a KEEPTTL write after the end keeps it)."""
    conf = Conference(friendly_name="WT" + uuid.uuid4().hex[:8])
    caller = sid("CA")
    join = conf.event("participant-join", caller, ParticipantLabel="customer")
    mute = conf.event("participant-mute", caller, ParticipantLabel="customer", Muted=True)
    end = conf.event("conference-end")
    after = conf.event("participant-unmute", caller, ParticipantLabel="customer")
    floor = runner.floor()
    arrival = [join, end, mute, after]

    async def at_once() -> list[str]:
        results = await asyncio.gather(
            *(floor.apply(parse_conference_event(p, 0, max_skew_ms=ANY_TIME)) for p in arrival)
        )
        return [r.outcome for r in results]

    assert runner.run(at_once()) == ["applied", "applied", "stale", "stale"]
    doc = orjson.loads(runner.run(floor.redis.get(floor.keys.conference(conf.sid))))
    assert doc["status"] == "completed"
    # The late mute (older than the end) completes the history; the unmute after the end
    # does not count.
    assert doc["p"][caller]["muted"] is True
    assert 0 < runner.run(floor.redis.ttl(floor.keys.conference(conf.sid))) <= 24 * 3600
    assert runner.run(floor.live_sids()) == []


def test_an_event_that_fails_leaves_the_batch_before_it_written(runner: Runner) -> None:
    """Redis does not roll back a script that fails part-way: the events before a failing one
    have their seen bits and feed entries made, so their documents must be written too (else
    Twilio's retry answers `duplicate` and the change is lost for good)."""
    good, bad = Conference(), Conference()
    caller, other = sid("CA"), sid("CA")
    floor = runner.floor()
    runner.run(floor.redis.set(floor.keys.conference(bad.sid), b"{not json"))
    join = good.event("participant-join", caller, ParticipantLabel="customer")
    broken = bad.event("participant-join", other, ParticipantLabel="customer")

    async def at_once() -> list[Any]:
        return list(
            await asyncio.gather(
                *(
                    floor.apply(parse_conference_event(p, 0, max_skew_ms=ANY_TIME))
                    for p in (join, broken)
                ),
                return_exceptions=True,
            )
        )

    results = runner.run(at_once())
    assert all(isinstance(r, Exception) for r in results)  # one script call: both callers told
    doc = orjson.loads(runner.run(floor.redis.get(floor.keys.conference(good.sid))))
    assert caller in doc["p"]  # the good conference's join is kept with its feed entry
    again = runner.run(floor.apply(parse_conference_event(join, 0, max_skew_ms=ANY_TIME)))
    assert again.outcome == "duplicate"
