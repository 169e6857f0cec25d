"""Redis's own files forget what a correction masked.

A number read over several lines is judged a card only once enough of it was said
(live/redact.py): the earlier lines were kept and sent in the clear, and
live/transcript.lua masks them where they are kept and where they were sent. But Redis
with an append-only file (the embedded one always: core/embedded_redis.py) has
written every command to it: the clear lines are still in the file, and a restart would
bring them back. After a correction, the file is rewritten (BGREWRITEAOF: Redis writes
the dataset as it is now to a new file and swaps it in,
https://redis.io/docs/latest/operate/oss_and_stack/management/persistence/#log-rewriting).

A rewrite that was already running when the correction was made copies the dataset from
before it, so the rewrite is asked for again once that one is done. The rewritten file
holds the dataset as it is (with Redis's default RDB preamble too): a corrected line's
clear text was only ever in a hash value that was overwritten since, never in the feed
stream (live/transcript.lua), so nothing of it is left to copy. Corrections are rare
(a card read out with no card talk near it), and a burst of them shares one rewrite. A
Redis that refuses the command (some managed services do) is logged once: its operator
must know that its persistence may hold what was masked.
"""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError

from core.redis_client import AsyncRedis

log = logging.getLogger("earpiece.forget")

GATHER_SECONDS = 0.2  # corrections close together share one rewrite
# ... and a rewrite (a fork and the whole dataset written) at most this often: a clear line
# stays in the file this much longer, a burst of corrections costs one rewrite.
MIN_INTERVAL_SECONDS = 5.0
POLL_SECONDS = 0.2
MAX_WAIT_SECONDS = 120.0


class Forgetter:
    def __init__(self, redis: AsyncRedis) -> None:
        self.redis = redis
        self._wanted = False
        self._task: asyncio.Task[None] | None = None
        self._warned = False
        self.rewrites = 0  # rewrites asked of Redis (the tests and the bench read it)
        self._last = -MIN_INTERVAL_SECONDS

    def soon(self) -> None:
        """Ask for a rewrite after the correction just made (returns at once)."""
        self._wanted = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="earpiece-forget")

    async def _persistence(self) -> dict[str, str]:
        info = await self.redis.info("persistence")
        return {str(k): str(v) for k, v in info.items()} if isinstance(info, dict) else {}

    async def _rewriting(self) -> bool | None:
        """Whether a rewrite runs or waits; None when the AOF is off."""
        info = await self._persistence()
        if info.get("aof_enabled") != "1":
            return None
        return (
            info.get("aof_rewrite_in_progress") == "1" or info.get("aof_rewrite_scheduled") == "1"
        )

    async def _run(self) -> None:
        try:
            await asyncio.sleep(GATHER_SECONDS)
            while self._wanted:
                loop = asyncio.get_running_loop()
                await asyncio.sleep(max(0.0, self._last + MIN_INTERVAL_SECONDS - loop.time()))
                self._wanted = False
                waited = 0.0
                while (busy := await self._rewriting()) and waited < MAX_WAIT_SECONDS:
                    await asyncio.sleep(POLL_SECONDS)
                    waited += POLL_SECONDS
                if busy is None:
                    return  # no append-only file: nothing kept on disk by this Redis
                await self.redis.bgrewriteaof()
                self._last = asyncio.get_running_loop().time()
                self.rewrites += 1
        except (RedisError, OSError) as exc:
            if not self._warned:
                self._warned = True
                log.warning(
                    "a masked card number may remain in Redis's append-only file: "
                    "BGREWRITEAOF failed (%s); rewrite it or turn persistence off",
                    exc,
                )

    async def settled(self) -> None:
        """Wait for the rewrites asked so far (tests)."""
        if self._task is not None:
            await self._task
