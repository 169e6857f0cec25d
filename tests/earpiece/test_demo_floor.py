"""earpiece/demo_floor.py: a demo run forgets the last run's simulated floor, not people's.

A trial restarted `earpiece demo` (the banner says to, to set the floor's clock): the old
run's calls showed live beside the new ones, every TaskRouter worker and queue twice, and
the old calls were later archived with a made-up end. The demo's own Redis now starts the
floor afresh, and keeps the audit, preferences, personal keys and sign-in identities."""

from __future__ import annotations

import asyncio

from core.keys import Keys
from core.redis_client import RedisTarget, async_client
from earpiece.demo_floor import forget_last_floor


def test_the_last_floor_goes_and_what_is_peoples_stays(
    redis_target: RedisTarget, namespace: str
) -> None:
    keys = Keys(namespace)
    floor_keys = [
        keys.conference("CF1"), keys.live, keys.calls, keys.feed, keys.timeline("CF1"),
        keys.transcript_lines("CF1"), keys.tag + ":tr:worker:WK1", keys.tag + ":ears",
    ]  # fmt: skip
    kept = [
        keys.audit, keys.audit_of("CF1"), keys.tag + ":prefs:ana", "{" + namespace + "}:apikeys",
        keys.tag + ":oidc-sub:abc",
    ]  # fmt: skip
    elsewhere = "{other" + namespace + "}:conf:CF1"  # another namespace: not the demo's

    async def run() -> tuple[int, list[int], list[int], int]:
        redis = async_client(redis_target, 2)
        try:
            for key in [*floor_keys, *kept, elsewhere]:
                await redis.set(key, "x")
            gone = await forget_last_floor(redis, namespace)
            left = [int(await redis.exists(k)) for k in floor_keys]
            still = [int(await redis.exists(k)) for k in kept]
            other = int(await redis.exists(elsewhere))
            await redis.delete(*kept, elsewhere)
            return gone, left, still, other
        finally:
            await redis.aclose()

    gone, left, still, other = asyncio.run(run())
    assert gone == len(floor_keys)
    assert left == [0] * len(floor_keys)
    assert still == [1] * len(kept)
    assert other == 1
