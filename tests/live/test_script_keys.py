"""Every key a script touches is passed in KEYS (issue 24 §5, Redis Cluster's rule).

A script may only touch the keys its caller declared: a Cluster routes the call by them,
and Redis can check nothing else. Redis does not refuse an undeclared key of the same slot,
so these tests run the TaskRouter scripts behind a guard (`DECLARED_ONLY`, put before the
script) that fails any command on a key not in KEYS. live/taskrouter.lua and
live/taskrouter_link.lua used to build the keys of a task's queue, day and conference from
what they read in Redis; now Python reads that first, passes the keys, and the script
answers `retry` when the task moved in between.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.exceptions import ResponseError

from core.redis_client import AsyncRedis, RedisTarget, async_client
from live.queues import LINK_LUA, TASKROUTER_LUA, LiveQueues, QueuePolicy
from live.roster import load as load_roster
from live.taskrouter_events import parse_taskrouter_event
from tests.helpers import sid
from tests.live.test_queue_ordering import (
    QUEUES,
    T0_MS,
    event,
    floor_story,
    task_fields,
    worker_fields,
)

# Shadows `redis` for the rest of the script: every command's key (its first argument;
# every argument of the commands that take several keys) must be one of KEYS.
DECLARED_ONLY = """
local declared = {}
for _, name in ipairs(KEYS) do declared[name] = true end
local SEVERAL = {DEL = true, EXISTS = true, MGET = true, UNLINK = true, TOUCH = true}
local real = redis
local function check(command, ...)
  local args = {...}
  local upper = string.upper(command)
  local keys = SEVERAL[upper] and args or {args[1]}
  for _, key in ipairs(keys) do
    if not declared[key] then
      return 'undeclared key ' .. tostring(key) .. ' in ' .. upper
    end
  end
  return nil
end
local redis = setmetatable({
  call = function(command, ...)
    local refused = check(command, ...)
    if refused then error(refused) end
    return real.call(command, ...)
  end,
}, {__index = real})
"""


class Floor:
    def __init__(self, redis: AsyncRedis) -> None:
        self.redis = redis
        self.namespace = "k" + uuid.uuid4().hex[:10]
        self.tag = "{" + self.namespace + "}"
        self.queues = LiveQueues(
            redis, namespace=self.namespace, roster=load_roster(None),
            policy=QueuePolicy(ZoneInfo("Asia/Tokyo"), 20),
        )  # fmt: skip
        # The same scripts, behind the guard.
        self.queues._apply.script = redis.register_script(DECLARED_ONLY + TASKROUTER_LUA)
        self.queues._link = redis.register_script(DECLARED_ONLY + LINK_LUA)

    async def apply(self, params: dict[str, str]) -> tuple[str, str | None, list[Any]]:
        return await self.queues.apply_and_link(
            parse_taskrouter_event(params, int(params["TimestampMs"]))
        )

    async def conference(self, task: str, legs: dict[str, str]) -> str:
        """A live conference TaskRouter made for `task`: its legs unlabelled."""
        conference = sid("CF")
        people = {
            call: {"call_sid": call, "label": label, "present": True, "ps": 1, "fs": 1, "ss": 0,
                   "joined": T0_MS, "muted": False, "hold": False, "coaching": False,
                   "coach": "", "speaking": False}
            for call, label in legs.items()
        }  # fmt: skip
        doc = {"sid": conference, "fn": task, "status": "in-progress", "seq": 1, "mon": {},
               "started": T0_MS, "p": people}  # fmt: skip
        await self.redis.set(f"{self.tag}:conf:{conference}", orjson.dumps(doc))
        for call in legs:
            await self.redis.hset(f"{self.tag}:calls", call, conference)
        return conference

    async def labels(self, conference: str) -> dict[str, str]:
        raw: Any = await self.redis.get(f"{self.tag}:conf:{conference}")
        return {c: p.get("label") or "" for c, p in orjson.loads(raw)["p"].items()}


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    yield running
    running.close()


@pytest.fixture
def floor(redis_target: RedisTarget, loop: asyncio.AbstractEventLoop) -> Iterator[Floor]:
    client = async_client(redis_target)
    yield Floor(client)
    loop.run_until_complete(client.aclose())


SALES = sorted(QUEUES)[0]
SUPPORT = sorted(QUEUES)[1]
BOB = "WK" + "1" * 32


def test_the_guard_refuses_an_undeclared_key(floor: Floor, loop: asyncio.AbstractEventLoop) -> None:
    """The guard itself: a script reading a key it was not given fails (so the tests below
    would fail on a script that builds a key of its own)."""
    script = floor.redis.register_script(DECLARED_ONLY + "return redis.call('GET', ARGV[1])")
    with pytest.raises(ResponseError, match="undeclared key"):
        loop.run_until_complete(script(keys=[floor.tag + ":a"], args=[floor.tag + ":b"]))
    assert loop.run_until_complete(script(keys=[floor.tag + ":a"], args=[floor.tag + ":a"])) is None


async def link_story(floor: Floor) -> None:
    """A caller waits, moves queue, is accepted (the conference exists: labelled in the same
    call), wraps up and completes; another task's conference comes after its acceptance
    (labelled by the link script, from the conference and from the task)."""
    task, call, agent_leg = sid("WT"), sid("CA"), sid("CA")
    conference = await floor.conference(task, {call: "", agent_leg: ""})
    entered = T0_MS // 1000
    at = T0_MS

    def on(kind: str, status: str, queue: str = SALES, **extra: str) -> dict[str, str]:
        nonlocal at
        at += 1000
        fields = task_fields(task, queue, status, entered, call)
        return event(kind, at, **fields, **extra)

    assert (await floor.apply(on("task.created", "pending")))[0] == "applied"
    await floor.apply(on("task-queue.entered", "pending"))
    await floor.apply(on("task-queue.moved", "pending", SUPPORT))
    bob = worker_fields(BOB, "Available")
    assert (await floor.apply(on("reservation.created", "reserved", SUPPORT, **bob)))[0] == (
        "applied"
    )
    outcome, linked_sid, newly = await floor.apply(
        on("reservation.accepted", "assigned", SUPPORT, **worker_fields(BOB, "Available"))
    )
    assert (outcome, linked_sid) == ("applied", conference)
    assert sorted(label for _, label in newly) == ["agent:bob", "customer"]
    assert await floor.labels(conference) == {call: "customer", agent_leg: "agent:bob"}
    await floor.apply(on("task.wrapup", "wrapping", SUPPORT, **worker_fields(BOB, "Available")))
    await floor.apply(on("task.completed", "completed", SUPPORT))
    await floor.apply(event("worker.activity.update", at + 1, **worker_fields(BOB, "Break")))
    queues = {q["name"]: q for q in await floor.queues.queues(T0_MS / 1000 + 60)}
    assert queues["support"]["today"]["answered"] == 1
    assert queues["sales"]["waiting"] == 0 and queues["support"]["waiting"] == 0

    # The conference after the acceptance: the link script labels it, given the
    # conference (a join) or finding it from the task's call.
    later, later_call, later_agent = sid("WT"), sid("CA"), sid("CA")
    fields = task_fields(later, SALES, "assigned", entered, later_call)
    await floor.apply(event("reservation.accepted", at + 2, **fields,
                            **worker_fields(BOB, "Available")))  # fmt: skip
    found = await floor.conference(later, {later_call: "", later_agent: ""})
    label, newly, where = await floor.queues.link(later, found, later_call)
    assert (label, where) == ("customer", found) and len(newly) == 2
    third, third_call = sid("WT"), sid("CA")
    await floor.apply(event("reservation.accepted", at + 3,
                            **task_fields(third, SALES, "assigned", entered, third_call),
                            **worker_fields(BOB, "Available")))  # fmt: skip
    made = await floor.conference(third, {third_call: ""})
    label, newly, where = await floor.queues.link(third)
    assert (where, newly) == (made, [(third_call, "customer")])


def test_the_scripts_touch_only_the_keys_they_are_given(
    floor: Floor, loop: asyncio.AbstractEventLoop
) -> None:
    loop.run_until_complete(link_story(floor))


def test_an_event_whose_task_moved_since_its_keys_were_read_is_retried(
    floor: Floor, loop: asyncio.AbstractEventLoop
) -> None:
    """The keys of a reservation in sales were read while the task waited in sales; an
    (older) event moved it to support before the call, so the reservation takes it out of
    support's waiting set, a key it was not given: the script answers `retry` and writes
    nothing, and apply_and_link reads again and applies it."""

    async def story() -> None:
        task, call = sid("WT"), sid("CA")
        entered = T0_MS // 1000
        created = event("task.created", T0_MS, **task_fields(task, SALES, "pending", entered, call))
        await floor.apply(created)
        reserved = parse_taskrouter_event(
            event("reservation.created", T0_MS + 5000,
                  **task_fields(task, SALES, "reserved", entered, call),
                  **worker_fields(BOB, "Available")),
            T0_MS,
        )  # fmt: skip
        stale_keys = await floor.queues._event_keys(reserved)
        moved = event("task-queue.moved", T0_MS + 2000,
                      **task_fields(task, SUPPORT, "pending", entered, call))  # fmt: skip
        await floor.apply(moved)
        before: Any = await floor.redis.hgetall(f"{floor.tag}:tr:task:{task}")
        outcome, _ = await floor.queues._apply(stale_keys, floor.queues.script_event(reserved))
        assert outcome == b"retry"
        assert await floor.redis.hgetall(f"{floor.tag}:tr:task:{task}") == before
        outcome, _, _ = await floor.queues.apply_and_link(reserved)
        assert outcome == "applied"
        waiting: Any = await floor.redis.zrange(f"{floor.tag}:tr:waiting:{SALES}", 0, -1)
        assert waiting == [task.encode()]
        assert not await floor.redis.zrange(f"{floor.tag}:tr:waiting:{SUPPORT}", 0, -1)

    loop.run_until_complete(story())


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(story=floor_story(), data=st.data())
def test_any_story_touches_only_given_keys(
    redis_target: RedisTarget, story: list[dict[str, str]], data: st.DataObject
) -> None:
    """The ordering test's stories, in any order, behind the guard."""
    arrival = data.draw(st.permutations(story))

    async def run() -> None:
        client = async_client(redis_target)
        try:
            guarded = Floor(client)
            for params in arrival:
                await guarded.apply(params)
        finally:
            await client.aclose()

    asyncio.run(run())
