"""Coalescing concurrent applies into one script call.

Under load many callbacks are in flight at once (Twilio posts every join,
hold and speech start/stop), and redis-py's cost per command is several times
Redis's cost per event. The events submitted during one event-loop tick are
therefore applied by one call of live/apply.lua, which takes a batch: one
command, one round trip, one reply. Every key of a floor shares one hash
slot, so this holds on a Redis Cluster too. Events are applied in submission
order, each exactly as if alone; each caller gets its own outcome. With one
callback in flight, the batch is that one event.

At most MAX_IN_FLIGHT (three) batches are on their way to Redis at once; what
arrives meanwhile waits for the next one to return, and goes together. Redis runs
scripts one at a time, so more batches in flight would not apply sooner: they
would only be smaller, and each one costs the process its client-side work (a
command packed, sent, read, parsed: ~100 us, most of a callback's own cost
when batches were small) and Redis its per-command work. Under load the batch
grows with the round trip instead (issue 29's profile); with one callback in
flight nothing waits. Sending what waits as soon as a reply is read, before
that batch's callers are woken, was tried: the loop idled less (0.85-0.90 of a
core against 0.80) but each callback cost it more (smaller batches), and over
8 alternating rounds it was no faster (8,833 against 8,768 req/s): not kept.
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
# Batches on their way at once: more than one, so the process packs and sends the next
# while Redis runs the one before (one would leave each side idle while the other works).
# Three rather than two on a floor's mix (1,000 live calls talking, where Redis spends
# ~25 us an event): while the process answers one returned batch's callers, Redis still
# has a queued one to run instead of waiting for it. `bench.ingest --live 1000 --speech
# 100 --before` (two) side by side, 6 rounds at 256 connections: 1.09x req/s (busy 0.88
# of a core against 0.80, the same 56-57 us a callback), 5 rounds of 6 ahead; 1.06x at
# 32. Four cost more a callback (smaller batches) and were no faster (0.96x).
MAX_IN_FLIGHT = 3

# An event's script arguments: one value (JSON), or several in a row (live/apply.lua's).
EventArgs = bytes | tuple[str | int, ...]
Pending = tuple[Sequence[str], EventArgs, "asyncio.Future[tuple[Any, ...]]"]


class BatchedScript:
    """Calls `script` with KEYS = shared keys + each event's keys, ARGV = shared args + events.

    The script answers `width` values an event, one after the other (an outcome and a feed
    id by default); each caller gets its event's as a tuple."""

    def __init__(
        self,
        redis: AsyncRedis,
        script: str,
        shared_keys: Sequence[str],
        shared_args: Sequence[Any],
        max_batch: int = MAX_BATCH,
        max_in_flight: int = MAX_IN_FLIGHT,
        width: int = 2,
    ) -> None:
        self.redis = redis
        # redis-py's own registration: EVALSHA, and on NOSCRIPT (a restarted or failed-over
        # server lost its cache; nothing ran) SCRIPT LOAD and the call once more.
        self.script = redis.register_script(script)
        self.shared_keys = list(shared_keys)
        self.shared_args = list(shared_args)
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self.width = width
        self._pending: list[Pending] = []
        self._scheduled = False
        self._sending: set[asyncio.Future[None]] = set()

    async def __call__(self, keys: Sequence[str], event: EventArgs) -> tuple[Any, ...]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[Any, ...]] = loop.create_future()
        self._pending.append((keys, event, future))
        if not self._scheduled and len(self._sending) < self.max_in_flight:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        while self._pending and len(self._sending) < self.max_in_flight:
            batch, self._pending = (
                self._pending[: self.max_batch],
                self._pending[self.max_batch :],
            )
            task = asyncio.ensure_future(self._send(batch))
            self._sending.add(task)  # keep a reference until it is done
            task.add_done_callback(self._sent)
        # The rest goes when a batch in flight returns (_sent).

    def _sent(self, task: asyncio.Future[None]) -> None:
        self._sending.discard(task)
        if self._pending and not self._scheduled:
            self._flush()

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
        width = self.width
        if len(flat) != width * len(batch):
            # A reply of the wrong shape must fail its callers, never leave them waiting.
            wrong = RedisError(f"the script answered {len(flat)} values for {len(batch)} events")
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(wrong)
            return
        for i, (_, _, future) in enumerate(batch):
            if not future.done():
                future.set_result(tuple(flat[width * i : width * (i + 1)]))

    async def _run(self, batch: list[Pending]) -> list[Any]:
        keys = list(self.shared_keys)
        args: list[Any] = list(self.shared_args)
        for event_keys, event, _ in batch:
            keys.extend(event_keys)
            if isinstance(event, tuple):
                args.extend(event)
            else:
                args.append(event)
        return list(await self.script(keys=keys, args=args))
