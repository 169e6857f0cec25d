"""Automatic pipelining of one Lua script's calls.

Under load many callbacks are in flight at once (Twilio posts every join,
hold and speech start/stop), and redis-py's cost per round trip is several
times Redis's cost per script. Calls made during one event-loop tick are
therefore sent together as one pipeline (not a transaction): each script still
runs atomically on its own, in the order the calls were made, and each caller
gets its own result or its own error. With one call in flight, this is one
ordinary round trip.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.exceptions import NoScriptError, RedisError

from earpiece.redis_client import AsyncRedis

# Bound on one pipeline, so that a burst does not become one huge write.
MAX_BATCH = 256

Call = tuple[Sequence[str], Sequence[Any], "asyncio.Future[Any]"]


class ScriptBatcher:
    def __init__(self, redis: AsyncRedis, script: str, max_batch: int = MAX_BATCH) -> None:
        self.redis = redis
        self.script = script
        self.max_batch = max_batch
        self._sha: str | None = None
        self._pending: list[Call] = []
        self._scheduled = False
        self._sending: set[asyncio.Future[None]] = set()

    async def __call__(self, keys: Sequence[str], args: Sequence[Any]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((keys, args, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush_soon)
        return await future

    def _flush_soon(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, []
        for start in range(0, len(pending), self.max_batch):
            task = asyncio.ensure_future(self._send(pending[start : start + self.max_batch]))
            self._sending.add(task)  # keep a reference until it is done
            task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[Call]) -> None:
        try:
            results = await self._execute(batch)
        except (RedisError, OSError) as exc:
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException as exc:  # cancelled: the callers must not hang
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(RedisError(f"script call interrupted: {exc!r}"))
            raise
        for (_, _, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _execute(self, batch: list[Call]) -> list[Any]:
        if self._sha is None:
            self._sha = str(await self.redis.script_load(self.script))
        results = await self._pipeline(batch)
        if any(isinstance(r, NoScriptError) for r in results):
            # The server lost its script cache (restart, failover): load it
            # again and redo only the calls that did not run.
            self._sha = str(await self.redis.script_load(self.script))
            redo = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
            again = await self._pipeline([batch[i] for i in redo])
            for i, result in zip(redo, again, strict=True):
                results[i] = result
        return results

    async def _pipeline(self, batch: list[Call]) -> list[Any]:
        assert self._sha is not None
        if len(batch) == 1:
            keys, args, _ = batch[0]
            try:
                return [await self.redis.evalsha(self._sha, len(keys), *keys, *args)]  # type: ignore[misc]
            except NoScriptError as exc:
                return [exc]
        pipe = self.redis.pipeline(transaction=False)
        for keys, args, _ in batch:
            pipe.evalsha(self._sha, len(keys), *keys, *args)
        return list(await pipe.execute(raise_on_error=False))
