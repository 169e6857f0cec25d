"""The board goes on after Redis goes away and comes back: a pass that meets a Redis error
(in its TaskGroup) says the floor is out of reach, and the next good pass says it is back.
On Python 3.11 such a TaskGroup leaves its task's cancelling() count raised for good; a
stop that trusted that count ended the board loop for ever (core/tasks.py)."""

from __future__ import annotations

import asyncio
import time
import uuid

from core.embedded_redis import redis_binary
from core.redis_client import RedisTarget, async_client
from live.board import Filters
from live.board_hub import BoardHub
from live.feed import FeedHub
from live.roster import load as load_roster
from live.store import LiveFloor
from tests.helpers import ServerThread, start_redis_server


def test_the_board_loop_outlives_a_redis_restart() -> None:
    port = ServerThread.free_port()
    server = start_redis_server(redis_binary(), port)

    async def run() -> None:
        nonlocal server
        redis = async_client(RedisTarget(f"redis://127.0.0.1:{port}/0", False, None))
        floor = LiveFloor(redis, namespace="o" + uuid.uuid4().hex[:10], roster=load_roster(None))
        feed = FeedHub(floor)
        hub = BoardHub(floor, feed, period=0.1, mask=True, country="JP", clock_seconds=0.2)
        await feed.start()
        await hub.watch(Filters())
        await hub.start()
        try:
            await asyncio.sleep(0.5)
            server.terminate()
            await asyncio.to_thread(server.wait, 10)
            deadline = time.monotonic() + 10
            while hub.error is None:  # a pass met the refusal and says so
                assert time.monotonic() < deadline, "no pass said the floor is out of reach"
                await asyncio.sleep(0.05)
            server = await asyncio.to_thread(start_redis_server, redis_binary(), port)
            deadline = time.monotonic() + 15
            while hub.error is not None:
                assert hub._task is not None and not hub._task.done(), "the board loop ended"
                assert time.monotonic() < deadline, f"still out of reach: {hub.error}"
                await asyncio.sleep(0.05)
        finally:
            await hub.stop()
            await feed.stop()
            await redis.aclose()

    try:
        asyncio.run(run())
    finally:
        server.terminate()
        server.wait(10)
