"""Coalescing concurrent applies into one script call.

Under load many callbacks are in flight at once (Twilio posts every join,
hold and speech start/stop), and redis-py's cost per command is several times
Redis's cost per event. The events submitted during one event-loop tick are
therefore applied by one call of live/apply.lua, which takes a batch: one
command, one round trip, one reply. Every key of a floor shares one hash
slot, so this holds on a Redis Cluster too. Events are applied in submission
order, each exactly as if alone; each caller gets its own outcome. With one
callback in flight, the batch is that one event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.exceptions import RedisError

from core.redis_client import AsyncRedis

# Bound on one batch: keeps each script run short (Redis runs scripts one at
# a time) and each command's size modest.
MAX_BATCH = 64

Pending = tuple[Sequence[str], bytes, "asyncio.Future[tuple[Any, Any]]"]


class BatchedScript:
    """Calls `script` with KEYS = shared keys + each event's keys, ARGV = shared args + events."""

    def __init__(
        self,
        redis: AsyncRedis,
        script: str,
        shared_keys: Sequence[str],
        shared_args: Sequence[Any],
        max_batch: int = MAX_BATCH,
    ) -> None:
        self.redis = redis
        # redis-py's own registration: EVALSHA, and on NOSCRIPT (a restarted or failed-over
        # server lost its cache; nothing ran) SCRIPT LOAD and the call once more.
        self.script = redis.register_script(script)
        self.shared_keys = list(shared_keys)
        self.shared_args = list(shared_args)
        self.max_batch = max_batch
        self._pending: list[Pending] = []
        self._scheduled = False
        self._sending: set[asyncio.Future[None]] = set()

    async def __call__(self, keys: Sequence[str], event: bytes) -> tuple[Any, Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[Any, Any]] = loop.create_future()
        self._pending.append((keys, event, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, []
        for start in range(0, len(pending), self.max_batch):
            task = asyncio.ensure_future(self._send(pending[start : start + self.max_batch]))
            self._sending.add(task)  # keep a reference until it is done
            task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[Pending]) -> None:
        try:
            flat = await self._run(batch)
        except (RedisError, OSError) as exc:
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException as exc:  # cancelled: the callers must not hang
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(RedisError(f"apply interrupted: {exc!r}"))
            raise
        if len(flat) != 2 * len(batch):
            # A reply of the wrong shape must fail its callers, never leave them waiting.
            wrong = RedisError(f"the script answered {len(flat)} values for {len(batch)} events")
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(wrong)
            return
        for i, (_, _, future) in enumerate(batch):
            if not future.done():
                future.set_result((flat[2 * i], flat[2 * i + 1]))

    async def _run(self, batch: list[Pending]) -> list[Any]:
        keys = list(self.shared_keys)
        args: list[Any] = list(self.shared_args)
        for event_keys, event, _ in batch:
            keys.extend(event_keys)
            args.append(event)
        return list(await self.script(keys=keys, args=args))
