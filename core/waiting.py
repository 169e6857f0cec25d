"""Waiting on an asyncio.Condition with a time limit, without losing its lock.

`asyncio.wait_for(condition.wait(), t)` runs the wait in a task of its own on Python 3.11.
When the waiting task is cancelled twice (anyio's cancel scopes, which Starlette and
sse-starlette run a stream in, cancel again until the task ends), it can leave before
that inner task has taken the lock back; its `async with condition` then releases a lock
it does not hold: a `RuntimeError: Lock is not acquired` for it, or for the task that
really held the lock (a three-worker suite run printed both from the board stream).
`asyncio.timeout` cancels the wait in the waiting task itself, and `Condition.wait`
takes the lock back before any cancellation leaves it. tests/core/test_waiting.py runs
both through every interleaving of two cancellations and a notifier up to a depth.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable


async def wait_on(
    condition: asyncio.Condition, seconds: float, until: Callable[[], bool] | None = None
) -> None:
    """Return once `until()` holds (with None: at the next notify), or after `seconds`."""
    async with condition:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                if until is None:
                    await condition.wait()
                else:
                    await condition.wait_for(until)
