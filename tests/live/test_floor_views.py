"""What live/ derives for the dashboard and the API: the needs-attention order,
the floor summary, the per-call timeline and the last-hour history — against a
real Redis where it is stored there. The board's rows: tests/live/test_board.py."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from core.redis_client import RedisTarget, async_client
from live import history
from live.attention import attention, order
from live.board import mask_number
from live.events import ConferenceEvent, parse_conference_event
from live.roster import load as load_roster
from live.store import LiveFloor
from live.summary import summarize
from tests.helpers import BASE_TIME, Conference, sid

T0 = BASE_TIME.timestamp()


def event(params: dict[str, str]) -> ConferenceEvent:
    return parse_conference_event(params, int(T0 * 1000))


def conference(
    sid_: str, *, started: int, state: str = "talking", alerts: tuple[str, ...] = (),
    team: str | None = "support", agent: str | None = "nick", monitors: int = 0,
    hold_since: int | None = None, speaking: tuple[str, ...] = (),
) -> dict[str, Any]:  # fmt: skip
    def stamp(offset: int) -> str:
        return (BASE_TIME + timedelta(seconds=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")

    people = [
        {"role": "customer", "hold": hold_since is not None, "number": "+15551234567",
         "hold_since": stamp(hold_since) if hold_since is not None else None,
         "speaking": "customer" in speaking},
        {"role": "agent", "hold": False, "speaking": "agent" in speaking},
    ]  # fmt: skip
    return {
        "sid": sid_, "started_at": stamp(started), "state": state, "alerts": list(alerts),
        "team": team, "queue": team, "agent": agent, "participants": people,
        "monitors": [{"supervisor": f"s{i}", "mode": "listen", "status": "connected"}
                     for i in range(monitors)],
    }  # fmt: skip


NOW = T0 + 30 * 60  # 01:30:00


def test_attention_weighs_alerts_and_explains_them() -> None:
    held = conference("CF1", started=60, state="hold", alerts=("long-hold",), hold_since=25 * 60)
    need = attention(held, NOW)
    assert need.score > 0
    assert need.reasons == ("on hold for 5:00",)
    both = conference("CF2", started=0, alerts=("long-hold", "long-call"), hold_since=29 * 60)
    assert attention(both, NOW).score > need.score
    assert attention(conference("CF3", started=0), NOW).score == 0


def test_attention_order_puts_help_first_then_waiting_then_oldest() -> None:
    calm_old = conference("old", started=0)
    calm_new = conference("new", started=600)
    waiting = conference("wait", started=900, state="waiting")
    long_call = conference("long", started=0, alerts=("long-call",))
    help_me = conference("help", started=1200, alerts=("help",))
    alone = conference("alone", started=1200, alerts=("customer-alone",))
    shuffled = [calm_new, waiting, calm_old, long_call, help_me, alone]
    random.Random(4).shuffle(shuffled)
    assert [c["sid"] for c in order(shuffled, NOW)] == [
        "help", "alone", "long", "wait", "old", "new"
    ]  # fmt: skip


def test_summary_counts_the_floor() -> None:
    floor = [
        conference("a", started=0, team="support"),
        conference("b", started=600, state="waiting", team="billing"),
        conference("c", started=1200, state="hold", hold_since=1300, monitors=2),
        conference("d", started=1500, state="waiting", team=None),
    ]
    s = summarize(floor, NOW)
    assert (s.live, s.waiting, s.on_hold, s.monitored) == (4, 2, 1, 1)
    assert s.longest_call_seconds == 1800
    assert s.longest_wait_seconds == 1800 - 600
    assert s.by_team == {"(no team)": 1, "billing": 1, "support": 2}


def test_numbers_are_masked_to_their_prefix_and_last_group() -> None:
    assert mask_number("+15551234567", True) == "+1 555-••••-4567"
    assert mask_number("+15551234567", False) == "+1 555-123-4567"
    assert mask_number("+15551234567", True, "US") == "(555) ••••-4567"
    # Not a phone number: four dots, whatever its length, and its last four characters.
    assert mask_number("client:bob", True) == "••••:bob"
    assert mask_number("123", True) == "••••"
    assert mask_number(None, True) == ""


# -- stored in Redis ------------------------------------------------------------------


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def new_floor(target: RedisTarget, namespace: str | None = None) -> LiveFloor:
    return LiveFloor(
        async_client(target), namespace=namespace or "v" + uuid.uuid4().hex[:10],
        roster=load_roster(None), history_seconds=3600,
    )  # fmt: skip


def test_timeline_is_in_twilio_order_without_speech_and_expires_with_the_call(
    redis_target: RedisTarget, loop: asyncio.AbstractEventLoop
) -> None:
    floor = new_floor(redis_target)
    conf = Conference()
    customer, agent = sid("CA"), sid("CA")
    events = [
        conf.event("conference-start"),
        conf.event("participant-join", customer, ParticipantLabel="customer"),
        conf.event("participant-join", agent, ParticipantLabel="agent:bob"),
        conf.event("participant-speech-start", agent, ParticipantLabel="agent:bob"),
        conf.event("participant-hold", customer, ParticipantLabel="customer", Hold=True),
        conf.event("participant-unhold", customer, ParticipantLabel="customer"),
        conf.event("participant-leave", agent, ParticipantLabel="agent:bob"),
        conf.event("conference-end", ReasonConferenceEnded="last-participant-left"),
    ]  # fmt: skip
    arrival = events[:]
    random.Random(7).shuffle(arrival)

    async def play() -> list[str]:
        for params in arrival + arrival[:3]:  # out of order, and some twice
            await floor.apply(event(params))
        return [e.text for e in await floor.timeline(conf.sid)]

    texts = loop.run_until_complete(play())
    assert texts == [
        "the call started",
        "the customer joined",
        "agent bob joined",
        "the customer was put on hold",
        "the customer was taken off hold",
        "agent bob left",
        "the call ended (the last person left)",
    ]
    ttl = loop.run_until_complete(floor.redis.ttl(floor.keys.timeline(conf.sid)))
    assert 0 < ttl <= 3600


def test_a_leg_joined_before_it_had_a_label_is_named_by_the_label_it_has_now(
    redis_target: RedisTarget, loop: asyncio.AbstractEventLoop
) -> None:
    """TaskRouter's conference instruction labels no leg: Earpiece labels them later
    (live/taskrouter_link.lua; here a later event that carries the label, which sets it the
    same way). A QA trial found every routed call's timeline saying "a participant"."""
    floor = new_floor(redis_target)
    conf = Conference()
    agent, customer, stranger = sid("CA"), sid("CA"), sid("CA")
    events = [
        conf.event("participant-join", agent),  # the worker's leg joins first, unlabelled
        conf.event("participant-join", customer),
        conf.event("conference-start"),
        conf.event("participant-join", stranger),  # a leg nobody ever labels
        conf.event("participant-hold", customer, ParticipantLabel="customer", Hold=True),
        conf.event("participant-unhold", agent, ParticipantLabel="agent:wes"),
    ]  # fmt: skip

    async def play() -> list[str]:
        for params in events:
            await floor.apply(event(params))
        return [e.text for e in await floor.timeline(conf.sid)]

    assert loop.run_until_complete(play()) == [
        "agent wes joined",
        "the customer joined",
        "the call started",
        "a participant joined",
        "the customer was put on hold",
        "agent wes was taken off hold",
    ]


def test_a_long_call_keeps_only_its_newest_events(
    redis_target: RedisTarget, loop: asyncio.AbstractEventLoop
) -> None:
    floor = new_floor(redis_target)
    conf = Conference()
    customer = sid("CA")

    async def play() -> int:
        await floor.apply(event(conf.event("conference-start")))
        for n in range(260):
            name = "participant-hold" if n % 2 == 0 else "participant-unhold"
            params = conf.event(name, customer, ParticipantLabel="customer", Hold=n % 2 == 0)
            await floor.apply(event(params))
        return len(await floor.timeline(conf.sid))

    assert loop.run_until_complete(play()) == 200


def test_history_is_sampled_once_per_bucket_by_any_number_of_processes(
    redis_target: RedisTarget, loop: asyncio.AbstractEventLoop
) -> None:
    namespace = "h" + uuid.uuid4().hex[:10]
    first, second = new_floor(redis_target, namespace), new_floor(redis_target, namespace)
    conf = Conference()
    at = int(T0 * 1000)

    async def play() -> tuple[list[bool], list[history.Sample]]:
        await first.apply(event(
            conf.event("participant-join", sid("CA"), ParticipantLabel="agent:nick")))  # fmt: skip
        taken = await asyncio.gather(
            history.sample(first, at), history.sample(second, at + 1000),
            history.sample(first, at + 2000),
        )  # fmt: skip
        later = await history.sample(second, at + history.BUCKET_SECONDS * 1000)
        return [*taken, later], await history.samples(first, at - 60_000)

    taken, samples = loop.run_until_complete(play())
    assert sorted(taken[:3]) == [False, False, True]
    assert taken[3] is True
    assert [s.by_team for s in samples] == [{"support": 1}, {"support": 1}]
    assert samples[1].at_ms - samples[0].at_ms == history.BUCKET_SECONDS * 1000
