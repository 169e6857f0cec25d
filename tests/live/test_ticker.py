"""The once-a-second ticker (live/ticker.py): one process keeps ticking, its marks in memory.

Issue 29: the ticker goes over a floor its `source` gives (the board hub's kept floor in
the service) rather than reading every document each second, keeps the tick lock while
it goes on ticking, and keeps the alerts it announced in memory; another process takes
over only when it stops, and then starts from the marks in Redis, not from nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from core.redis_client import RedisTarget, async_client
from core.tasks import cancel_all
from live import ticker
from live.model import Json
from live.roster import load as load_roster
from live.store import LiveFloor


class Source:
    """A floor as a kept floor would give it, and how often it was asked."""

    def __init__(self, floor: list[Json]) -> None:
        self.floor, self.asked = floor, 0

    async def __call__(self) -> list[Json]:
        self.asked += 1
        return self.floor


async def until(condition: Any, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not within the time")


async def forget(redis: Any, floor: LiveFloor) -> None:
    """The story's floor out of the shared Redis, and its client closed."""
    await redis.delete(*[k async for k in redis.scan_iter(f"{floor.keys.tag}*")] or ["-"])
    await redis.aclose()


async def story(target: RedisTarget) -> None:
    redis = async_client(target)
    floor = LiveFloor(redis, namespace="t" + uuid.uuid4().hex[:10], roster=load_roster(None))
    announced: list[list[str]] = []
    real = floor.announce

    async def announce(sids: list[str]) -> int:
        if sids:
            announced.append(sorted(sids))
        return await real(sids)

    floor.announce = announce  # type: ignore[method-assign]
    first = Source([{"sid": "CF1", "alerts": ["long-hold"]}, {"sid": "CF2", "alerts": []}])
    second = Source(first.floor)
    one = asyncio.create_task(ticker.run_forever(floor, every=0.05, source=first))
    try:
        await until(lambda: first.asked >= 3)
        other = asyncio.create_task(ticker.run_forever(floor, every=0.05, source=second))
        await until(lambda: first.asked >= 15)
        assert second.asked == 0, "the ticking process keeps the lock while it ticks"
        assert await floor.alert_marks() == {"CF1": "long-hold"}
        assert announced == [["CF1"]], "announced once; later ticks compare with memory"
        first.floor = second.floor = [
            {"sid": "CF1", "alerts": []},
            {"sid": "CF3", "alerts": ["dead-air"]},
        ]
        await until(lambda: len(announced) == 2)
        assert announced[1] == ["CF1", "CF3"], "CF2 went without alerts: nothing to announce"
        await until(lambda: first.asked >= 30)
        assert await floor.alert_marks() == {"CF1": "", "CF3": "dead-air"}
        await cancel_all([one])
        # The other takes over once the lock lapses, from the marks in Redis: nothing moved,
        # so nothing is announced again.
        await until(lambda: second.asked >= 5)
        assert len(announced) == 2, announced
        second.floor = [{"sid": "CF3", "alerts": ["dead-air", "long-call"]}]
        await until(lambda: len(announced) == 3)
        assert announced[2] == ["CF3"]
        await until(lambda: second.asked >= 10)
        assert await floor.alert_marks() == {"CF3": "dead-air,long-call"}, "CF1 ended: forgotten"
        await cancel_all([other])
    finally:
        await cancel_all([one])
        await forget(redis, floor)


def test_one_process_ticks_and_another_takes_over_from_the_marks(
    redis_target: RedisTarget,
) -> None:
    asyncio.run(story(redis_target))


class SlowingSource(Source):
    """A floor that turns slow to go over: its ticks then take longer than the pause the
    lock's life was taken from."""

    slow = False

    async def __call__(self) -> list[Json]:
        if self.slow:
            await asyncio.sleep(0.04)  # with BUSY_FACTOR, the next pause is 0.2 s, not 0.05
        return await super().__call__()


async def slowing_story(target: RedisTarget) -> None:
    redis = async_client(target)
    floor = LiveFloor(redis, namespace="t" + uuid.uuid4().hex[:10], roster=load_roster(None))
    first, second = SlowingSource([{"sid": "CF1", "alerts": []}]), Source([])
    one = asyncio.create_task(ticker.run_forever(floor, every=0.05, source=first))
    other: asyncio.Task[None] | None = None
    try:
        await until(lambda: first.asked >= 2)
        other = asyncio.create_task(ticker.run_forever(floor, every=0.05, source=second))
        await until(lambda: first.asked >= 5)
        first.slow = True
        asked = first.asked
        await until(lambda: first.asked >= asked + 5)
        assert second.asked == 0, "a slow tick's longer pause kept the lock held"
    finally:
        await cancel_all([one, *([other] if other else [])])
        await forget(redis, floor)


def test_a_slow_tick_keeps_its_lock_through_the_longer_pause_it_sets(
    redis_target: RedisTarget,
) -> None:
    asyncio.run(slowing_story(redis_target))
