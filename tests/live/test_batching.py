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
            runs = await redis.get("{bt}:runs")
            assert runs is not None
            assert int(runs) == 2
        finally:
            await redis.aclose()

    asyncio.run(run())


def test_callbacks_arriving_while_batches_are_in_flight_go_together_in_the_next(
    redis_target: RedisTarget,
) -> None:
    """At most `max_in_flight` batches are on their way at once (issue 29: many small
    batches cost the process a round trip's client-side work each); what arrives meanwhile
    goes in the next, in order, and every caller still gets its own event's answer."""

    async def run() -> None:
        redis = async_client(redis_target)
        try:
            # Each run appends its events to a list and answers, per event, the event and
            # how many events its batch held.
            script = BatchedScript(
                redis,
                "local out = {} for i = 1, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) "
                "out[#out + 1] = ARGV[i] out[#out + 1] = #ARGV end return out",
                shared_keys=["{bt}:order"],
                shared_args=[],
                max_in_flight=1,
            )
            await redis.delete("{bt}:order")
            first = asyncio.ensure_future(script([], b"0"))
            await asyncio.sleep(0)  # the first batch leaves, alone
            await asyncio.sleep(0)
            rest = [asyncio.ensure_future(script([], str(i).encode())) for i in range(1, 40)]
            answers = await asyncio.wait_for(asyncio.gather(first, *rest), timeout=5)
            assert [a[0] for a in answers] == [str(i).encode() for i in range(40)]
            assert answers[0][1] == 1
            # Everything that came while the first was on its way went in one batch.
            assert {a[1] for a in answers[1:]} == {39}
            order = await redis.lrange("{bt}:order", 0, -1)
            assert order == [str(i).encode() for i in range(40)]
        finally:
            await redis.delete("{bt}:order")
            await redis.aclose()

    asyncio.run(run())


def test_a_script_answering_three_values_an_event_gives_each_caller_its_three(
    redis_target: RedisTarget,
) -> None:
    async def run() -> None:
        redis = async_client(redis_target)
        try:
            script = BatchedScript(
                redis,
                "local out = {} for i = 1, #ARGV do out[#out + 1] = ARGV[i] "
                "out[#out + 1] = 'id' .. ARGV[i] out[#out + 1] = i end return out",
                shared_keys=["{bt}:k"],
                shared_args=[],
                width=3,
            )
            answers = await asyncio.wait_for(
                asyncio.gather(script([], b"a"), script([], b"b")), timeout=5
            )
            # gather gives a list (typeshed says a tuple).
            assert list(answers) == [(b"a", b"ida", 1), (b"b", b"idb", 2)]
        finally:
            await redis.aclose()

    asyncio.run(run())
