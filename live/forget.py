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
before it, so the rewrite is asked for again once that one is done; one that Redis refuses
because another just started, or that fails (a fork or a disk error: Redis then keeps the
old file), is asked for again too. A correction counts as forgotten only once a rewrite
that started after it finished with Redis's `aof_last_bgrewrite_status:ok`. The rewritten file
holds the dataset as it is (with Redis's default RDB preamble too): a corrected line's
clear text was only ever in a hash value that was overwritten since, never in the feed
stream (live/transcript.lua), so nothing of it is left to copy. Corrections are rare
(a card read out with no card talk near it), and a burst of them shares one rewrite. A
Redis that refuses the command (some managed services do) or whose rewrites fail is logged:
its operator must know that its persistence may hold what was masked.
"""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError, ResponseError

from core.redis_client import AsyncRedis

log = logging.getLogger("earpiece.forget")

GATHER_SECONDS = 0.2  # corrections close together share one rewrite
# ... and a rewrite (a fork and the whole dataset written) at most this often: a clear line
# stays in the file this much longer, a burst of corrections costs one rewrite.
MIN_INTERVAL_SECONDS = 5.0
POLL_SECONDS = 0.2
MAX_WAIT_SECONDS = 120.0
RETRY_SECONDS = 5.0  # after a refused or failed rewrite


class Forgetter:
    def __init__(self, redis: AsyncRedis) -> None:
        self.redis = redis
        self._asked = 0  # corrections made (soon() calls)
        self._covered = 0  # ... of them, those a finished rewrite started after
        self._task: asyncio.Task[None] | None = None
        self._warned = False
        self.rewrites = 0  # rewrites that finished and were ours (the tests and the bench read it)
        self.failures = 0  # rewrites refused or failed, each tried again
        self._last = -MIN_INTERVAL_SECONDS

    @property
    def pending(self) -> bool:
        """A correction whose clear lines may still be in the append-only file."""
        return self._covered < self._asked

    def soon(self) -> None:
        """Ask for a rewrite after the correction just made (returns at once)."""
        self._asked += 1
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="earpiece-forget")

    async def _persistence(self) -> dict[str, str]:
        info = await self.redis.info("persistence")
        return {str(k): str(v) for k, v in info.items()} if isinstance(info, dict) else {}

    @staticmethod
    def _busy(info: dict[str, str]) -> bool:
        """A rewrite runs, or waits for another child (an RDB save) to end."""
        return (
            info.get("aof_rewrite_in_progress") == "1" or info.get("aof_rewrite_scheduled") == "1"
        )

    async def _idle(self) -> dict[str, str] | None:
        """INFO persistence once no rewrite runs or waits (None: still busy after a long wait)."""
        waited = 0.0
        while self._busy(info := await self._persistence()):
            if waited >= MAX_WAIT_SECONDS:
                return None
            await asyncio.sleep(POLL_SECONDS)
            waited += POLL_SECONDS
        return info

    def _warn(self, why: str) -> None:
        self.failures += 1
        if not self._warned:
            self._warned = True
            log.warning(
                "a masked card number may remain in Redis's append-only file until a rewrite "
                "succeeds (%s); trying again every %.0f s",
                why,
                RETRY_SECONDS,
            )

    async def _run(self) -> None:
        await asyncio.sleep(GATHER_SECONDS)
        loop = asyncio.get_running_loop()
        while self.pending:
            await asyncio.sleep(max(0.0, self._last + MIN_INTERVAL_SECONDS - loop.time()))
            try:
                info = await self._idle()
                if info is None:
                    self._warn(f"a rewrite has run for over {MAX_WAIT_SECONDS:.0f} s")
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                # Corrections made so far (each written before it asked): the rewrite starts
                # after them, those made while another rewrite ran included.
                target = self._asked
                if info.get("aof_enabled") != "1":
                    self._covered = target  # no append-only file: nothing kept on disk
                    continue
                # Someone else's rewrite may start between INFO and this command; Redis then
                # refuses ours ("already in progress"), and that one may have copied the
                # dataset from before the correction: wait for it, and ask again.
                await self.redis.bgrewriteaof()
                self._last = loop.time()
                # Ours is done once nothing runs or waits; a rewrite that starts after ours
                # began after the correction too. A failed one leaves the old file in place
                # (Redis keeps appending to it), so only "ok" covers the correction.
                done = await self._idle()
                if done is None or done.get("aof_last_bgrewrite_status") != "ok":
                    self._warn("the rewrite failed; see Redis's log")
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
            except ResponseError as exc:
                if "in progress" in str(exc):  # someone else's rewrite, started just now
                    continue
                # Refused (a managed Redis may rename or forbid the command): asking again
                # will not help; the next correction asks once more.
                self._warn(f"BGREWRITEAOF refused: {exc}")
                return
            except (RedisError, OSError) as exc:  # Redis unreachable for now
                self._last = loop.time()
                self._warn(f"BGREWRITEAOF: {exc}")
                await asyncio.sleep(RETRY_SECONDS)
                continue
            self._covered = target
            self.rewrites += 1

    async def settled(self) -> None:
        """Wait for the rewrites asked so far (tests)."""
        if self._task is not None:
            await self._task
