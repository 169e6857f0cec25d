"""Codes good once (sign-in links, the session cookie's handoff): random, kept hashed, used up
by the redeem that reads them, each purpose apart."""

from __future__ import annotations

import asyncio

from access.one_time_codes import MAX_CODE_CHARS, OneTimeCodes
from core.redis_client import RedisTarget, async_client


def test_a_code_names_its_supervisor_once_and_redis_keeps_only_its_hash(
    redis_target: RedisTarget, namespace: str
) -> None:
    links, handoffs = OneTimeCodes("signin"), OneTimeCodes("handoff")

    async def run() -> None:
        redis = async_client(redis_target)
        try:
            code = await links.issue(redis, namespace, "佐々木", 60)
            assert len(code) >= 32 and code != await links.issue(redis, namespace, "mina", 60)
            # A dump of Redis signs nobody in: the code itself is in no key and no value.
            for key in await redis.keys("{" + namespace + "}:*"):
                value = await redis.get(key)
                assert isinstance(value, bytes)
                assert code.encode() not in key and code.encode() not in value
            assert await handoffs.redeem(redis, namespace, code) is None  # another purpose
            # Two redeems at once: exactly one gets the supervisor (GETDEL).
            both = await asyncio.gather(*(links.redeem(redis, namespace, code) for _ in "ab"))
            assert sorted(both, key=str) == [None, "佐々木"]
            assert await links.redeem(redis, namespace, code) is None
        finally:
            await redis.aclose()

    asyncio.run(run())


def test_an_expired_empty_or_overlong_code_is_nobody(
    redis_target: RedisTarget, namespace: str
) -> None:
    links = OneTimeCodes("signin")

    async def run() -> None:
        redis = async_client(redis_target)
        try:
            code = await links.issue(redis, namespace, "mina", 1)
            await redis.pexpire(links.key(namespace, code), 1)
            await asyncio.sleep(0.05)
            assert await links.redeem(redis, namespace, code) is None
            assert await links.redeem(redis, namespace, "") is None
            long = await links.issue(redis, namespace, "mina", 60)
            assert await links.redeem(redis, namespace, long + "x" * MAX_CODE_CHARS) is None
            assert await links.redeem(redis, namespace, long) == "mina"  # still good after
        finally:
            await redis.aclose()

    asyncio.run(run())
