"""The live state is the one the events describe in SequenceNumber order, whatever the arrival.

Hypothesis builds believable conferences (joins, mutes, holds, coaching,
speech, leaves, sometimes an end), with each participant event carrying the
participant's flags as Twilio sends them. The ordered sequence is applied to
one floor; a shuffled sequence with duplicates to another; both must read the
same, through a real Redis.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.redis_client import RedisTarget, async_client
from live.events import parse_conference_event
from live.roster import load as load_roster
from live.store import LiveFloor
from tests.helpers import BASE_TIME, Conference, order_free, sid

NOW_MS = int(BASE_TIME.timestamp() * 1000) + 3600_000

# Arrival time 0: these parse Twilio's own Timestamp, whatever today's date.
ANY_TIME = 2**62


@dataclass
class Runner:
    loop: asyncio.AbstractEventLoop
    target: RedisTarget

    def floor(self) -> LiveFloor:
        return LiveFloor(
            async_client(self.target),
            namespace="o" + uuid.uuid4().hex[:10],
            roster=load_roster(None),
        )

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)


@pytest.fixture(scope="module")
def runner(redis_target: RedisTarget) -> Iterator[Runner]:
    loop = asyncio.new_event_loop()
    yield Runner(loop, redis_target)
    loop.close()


@st.composite
def conference_story(draw: st.DrawFn) -> list[dict[str, str]]:
    conf = Conference(friendly_name="WT" + uuid.uuid4().hex[:8])
    people = {
        sid("CA"): "customer",
        sid("CA"): "agent:bob",
        sid("CA"): "supervisor:ana",
    }
    flags = {
        c: {"Muted": False, "Hold": False, "Coaching": False, "CallSidToCoach": ""} for c in people
    }
    present: list[str] = []
    story: list[dict[str, str]] = []

    def participant(name: str, call: str) -> None:
        f = flags[call]
        story.append(
            conf.event(
                name,
                call,
                ParticipantLabel=people[call],
                Muted=f["Muted"],
                Hold=f["Hold"],
                Coaching=f["Coaching"],
                CallSidToCoach=f["CallSidToCoach"],
            )
        )

    calls = list(people)
    participant("participant-join", calls[0])
    if draw(st.booleans()):
        story.append(conf.event("conference-start"))
    present.append(calls[0])
    steps = draw(
        st.lists(
            st.tuples(
                st.sampled_from(
                    [
                        "join",
                        "mute",
                        "unmute",
                        "hold",
                        "unhold",
                        "coach",
                        "speech-start",
                        "speech-stop",
                        "leave",
                    ]
                ),
                st.integers(0, 2),
            ),
            max_size=25,
        )
    )
    for action, who in steps:
        call = calls[who]
        if action == "join":
            if call not in present:
                present.append(call)
                participant("participant-join", call)
            continue
        if call not in present:
            continue
        f = flags[call]
        if action in ("mute", "unmute"):
            f["Muted"] = action == "mute"
            participant(f"participant-{action}", call)
        elif action in ("hold", "unhold"):
            f["Hold"] = action == "hold"
            participant(f"participant-{action}", call)
        elif action == "coach":
            f["Coaching"] = not f["Coaching"]
            f["CallSidToCoach"] = calls[1] if f["Coaching"] else ""
            participant("participant-modify", call)
        elif action.startswith("speech"):
            participant(f"participant-{action}", call)
        elif action == "leave":
            present.remove(call)
            participant("participant-leave", call)
    if draw(st.booleans()):
        story.append(
            conf.event(
                "conference-end",
                ReasonConferenceEnded="participant-with-end-conference-on-exit-left",
            )
        )
    return story


async def _apply_all(floor: LiveFloor, events: list[dict[str, str]]) -> dict[str, Any]:
    for params in events:
        await floor.apply(parse_conference_event(params, 0, max_skew_ms=ANY_TIME))
    cf = events[0]["ConferenceSid"]
    doc = await floor.document(cf)
    assert doc is not None
    calls = {c: await floor.call(c) for c in {e["CallSid"] for e in events if "CallSid" in e}}
    return {
        "conference": order_free(floor.render(doc, NOW_MS)),
        "live": await floor.live_sids(),
        "calls": calls,
    }


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(story=conference_story(), data=st.data())
def test_any_order_and_duplication_reach_the_ordered_state(
    runner: Runner, story: list[dict[str, str]], data: st.DataObject
) -> None:
    arrival = data.draw(st.permutations(story))
    duplicates = data.draw(st.lists(st.sampled_from(story), max_size=6))
    for dup in duplicates:
        position = data.draw(st.integers(0, len(arrival)))
        arrival = [*arrival[:position], dup, *arrival[position:]]

    ordered_floor, shuffled_floor = runner.floor(), runner.floor()
    ordered = runner.run(_apply_all(ordered_floor, story))
    shuffled = runner.run(_apply_all(shuffled_floor, arrival))
    assert shuffled == ordered


def test_a_repeated_callback_changes_nothing(runner: Runner) -> None:
    conf = Conference()
    join = conf.event("participant-join", sid("CA"), ParticipantLabel="customer")
    floor = runner.floor()
    first = runner.run(floor.apply(parse_conference_event(join, 0, max_skew_ms=ANY_TIME)))
    again = runner.run(floor.apply(parse_conference_event(join, 0, max_skew_ms=ANY_TIME)))
    assert (first.outcome, again.outcome) == ("applied", "duplicate")
    assert runner.run(floor.feed_after("0-0")).__len__() == 1


def test_idempotency_token_is_honoured(runner: Runner) -> None:
    conf = Conference()
    floor = runner.floor()
    join = conf.event("participant-join", sid("CA"), ParticipantLabel="customer")
    runner.run(
        floor.apply(
            parse_conference_event(join, 0, max_skew_ms=ANY_TIME, idempotency_token="retry-1")
        )
    )
    # The same token on a different SequenceNumber is still the same delivery.
    other = conf.event("participant-mute", join["CallSid"], ParticipantLabel="customer", Muted=True)
    result = runner.run(
        floor.apply(
            parse_conference_event(other, 0, max_skew_ms=ANY_TIME, idempotency_token="retry-1")
        )
    )
    assert result.outcome == "duplicate"


def test_late_events_do_not_bring_an_ended_conference_back(runner: Runner) -> None:
    conf = Conference()
    caller = sid("CA")
    join = conf.event("participant-join", caller, ParticipantLabel="customer")
    mute = conf.event("participant-mute", caller, ParticipantLabel="customer", Muted=True)
    end = conf.event("conference-end")
    floor = runner.floor()
    runner.run(floor.apply(parse_conference_event(join, 0, max_skew_ms=ANY_TIME)))
    runner.run(floor.apply(parse_conference_event(end, 0, max_skew_ms=ANY_TIME)))
    late = runner.run(floor.apply(parse_conference_event(mute, 0, max_skew_ms=ANY_TIME)))
    assert late.outcome == "stale"
    assert runner.run(floor.live_sids()) == []
    assert runner.run(floor.call(caller)) is None
    ended = runner.run(floor.conference(conf.sid))
    assert ended["status"] == "completed" and ended["state"] == "ended"


def test_a_conference_whose_start_was_lost_appears_from_its_joins(runner: Runner) -> None:
    conf = Conference()
    conf.event("conference-start")  # sequence 1: never delivered
    customer, agent = sid("CA"), sid("CA")
    floor = runner.floor()
    runner.run(
        floor.apply(
            parse_conference_event(
                conf.event("participant-join", customer, ParticipantLabel="customer"),
                0,
                max_skew_ms=ANY_TIME,
            )
        )
    )
    runner.run(
        floor.apply(
            parse_conference_event(
                conf.event("participant-join", agent, ParticipantLabel="agent:carol"),
                0,
                max_skew_ms=ANY_TIME,
            )
        )
    )
    [live] = runner.run(floor.conferences())
    assert live["sid"] == conf.sid
    assert live["state"] == "talking"
    assert live["agent"] == "carol" and live["team"] == "sales-east" and live["queue"] == "sales"
    earliest = (BASE_TIME + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert live["started_at"] == earliest  # the earliest event seen


def test_an_older_event_never_overwrites_newer_state(runner: Runner) -> None:
    conf = Conference()
    caller = sid("CA")
    join = conf.event("participant-join", caller, ParticipantLabel="customer")
    hold = conf.event("participant-hold", caller, ParticipantLabel="customer", Hold=True)
    unhold = conf.event("participant-unhold", caller, ParticipantLabel="customer", Hold=False)
    floor = runner.floor()
    for params in (join, unhold, hold):  # the hold arrives last but is older
        runner.run(floor.apply(parse_conference_event(params, 0, max_skew_ms=ANY_TIME)))
    [live] = runner.run(floor.conferences())
    assert live["participants"][0]["hold"] is False
