"""live/batching.py's BatchedScript against a real Redis."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import RedisError

from core.redis_client import RedisTarget, async_client
from live.batching import BatchedScript


def test_a_reply_of_the_wrong_shape_fails_its_callers_instead_of_hanging_them(
    redis_target: RedisTarget,
) -> None:
    """Bug: a script answering one value per event (not the outcome/feed-id pair) raised
    IndexError after the script ran, outside the handlers, so no caller's future was ever
    resolved and every apply waited forever. Fix: a reply of the wrong length fails them."""

    async def run() -> None:
        redis = async_client(redis_target)
        try:
            script = BatchedScript(redis, "return {'one'}", shared_keys=["{bt}:k"], shared_args=[])
            with pytest.raises(RedisError, match="answered 1 values for 2 events"):
                await asyncio.wait_for(
                    asyncio.gather(script([], b"a"), script([], b"b")), timeout=5
                )
            pairs = BatchedScript(redis, "return {'ok', ''}", shared_keys=["{bt}:k"],
                                  shared_args=[])  # fmt: skip
            assert await asyncio.wait_for(pairs([], b"x"), timeout=5) == (b"ok", b"")
        finally:
            await redis.aclose()

    asyncio.run(run())


def test_a_server_that_lost_its_scripts_runs_the_batch_once_more(
    redis_target: RedisTarget,
) -> None:
    """After SCRIPT FLUSH (a restarted or failed-over server) the next batch finds no
    script: redis-py's registration loads it again and runs the batch, exactly once."""

    async def run() -> None:
        redis = async_client(redis_target)
        try:
            script = BatchedScript(redis, "return {redis.call('INCR', KEYS[1]), ''}",
                                   shared_keys=["{bt}:runs"], shared_args=[])  # fmt: skip
            await redis.delete("{bt}:runs")
            assert (await asyncio.wait_for(script([], b"a"), timeout=5))[0] == 1
            await redis.script_flush()
            assert (await asyncio.wait_for(script([], b"b"), timeout=5))[0] == 2
            assert int(await redis.get("{bt}:runs")) == 2
        finally:
            await redis.aclose()

    asyncio.run(run())
