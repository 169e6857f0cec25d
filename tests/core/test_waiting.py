"""core/waiting.py: a waiter cancelled twice (as anyio's cancel scopes do to a stream that
ends) leaves its Condition's lock as it found it, whatever it was doing at each
cancellation and whoever held the lock then. Every interleaving up to a depth: a notifier
takes the lock and notifies, the waiter is cancelled, then cancelled again, each after 0 to
4 turns of the loop."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from core.waiting import wait_on

Waiter = Callable[[asyncio.Condition], Coroutine[Any, Any, None]]


async def turns(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def outcome(waiter: Waiter, first: int, second: int, held: int) -> str:
    condition = asyncio.Condition()
    waiting = asyncio.create_task(waiter(condition))
    await turns(3)

    async def notifier() -> None:
        async with condition:
            condition.notify_all()
            await turns(held)

    notifying = asyncio.create_task(notifier())
    await turns(first)
    waiting.cancel()
    await turns(second)
    waiting.cancel()
    results = await asyncio.gather(waiting, notifying, return_exceptions=True)
    if any(isinstance(r, RuntimeError) for r in results):
        return "lock lost"
    return "locked" if condition.locked() else "ok"


async def every_interleaving(waiter: Waiter) -> set[str]:
    return {
        await outcome(waiter, first, second, held)
        for first, second, held in itertools.product(range(5), repeat=3)
    }


async def test_a_twice_cancelled_waiter_never_loses_the_lock() -> None:
    assert await every_interleaving(lambda c: wait_on(c, 10, lambda: False)) == {"ok"}
    assert await every_interleaving(lambda c: wait_on(c, 10)) == {"ok"}


async def test_it_returns_at_the_change_or_the_time_limit() -> None:
    condition, state = asyncio.Condition(), {"passes": 0}
    waiting = asyncio.create_task(wait_on(condition, 10, lambda: state["passes"] > 0))
    await turns(3)
    async with condition:
        state["passes"] = 1
        condition.notify_all()
    await asyncio.wait_for(waiting, 1)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await wait_on(condition, 0.05, lambda: False)
    assert 0.04 < loop.time() - began < 1 and not condition.locked()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12's wait_for runs in the task")
async def test_the_sweep_finds_the_fault_of_wait_for_on_311() -> None:
    """The same sweep on what the board stream and the feed did before: the test can fail."""

    async def before(condition: asyncio.Condition) -> None:
        async with condition:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(condition.wait_for(lambda: False), 10)

    assert "lock lost" in await every_interleaving(before)
