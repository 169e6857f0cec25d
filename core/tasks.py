"""Stopping background tasks, in one place.

A cancelled task can fail to stop: on Python 3.11, asyncio.wait_for may
swallow a cancellation that arrives as its inner awaitable completes, and a
worker loop then waits for its next job forever. A stop that awaited such a
task would hang the process's shutdown (it did, in bench/sim_floor.py), so
tasks get a grace period and are then left behind.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("core.tasks")  # every logger is under "earpiece"

GRACE_SECONDS = 2.0
# The tasks `cancel_all` was asked to stop. Not `task.cancelling()`: on Python 3.11 an
# asyncio.TaskGroup whose child fails cancels the task that waits on it and never takes
# that back, so a board pass that met a Redis error (caught, as it should be) left its loop
# "cancelling" for good, and a check of that count stopped the board (found in review).
_STOPPING: weakref.WeakSet[asyncio.Future[Any]] = weakref.WeakSet()


async def pause(seconds: float) -> None:
    """`asyncio.sleep` for a background loop, which stops here if it was asked to stop even
    when something it awaited swallowed the cancellation. redis-py's asyncio client (8.1)
    was seen handing a command's reply to a task already cancelled: the service's history
    sampler, stopping, went on to sleep its 30 s out, past the shutdown's grace, in about
    one test in five that stopped a service at once."""
    stop_if_asked()
    await asyncio.sleep(seconds)


def stop_if_asked() -> None:
    """Raise CancelledError if `cancel_all` was asked to stop this task: for a loop that
    waits on something other than a pause (an event, the feed) at the top of each turn."""
    task = asyncio.current_task()
    if task is not None and task in _STOPPING:
        raise asyncio.CancelledError


async def cancel_all(tasks: Iterable[asyncio.Future[Any]], grace: float = GRACE_SECONDS) -> None:
    """Cancel every task and wait up to `grace` seconds for them to finish."""
    pending = [t for t in tasks if not t.done()]
    for task in pending:
        _STOPPING.add(task)
        task.cancel()
    if not pending:
        return
    _, stuck = await asyncio.wait(pending, timeout=grace)
    for task in stuck:
        task.cancel()  # once more; it will not be awaited again
    if stuck:
        log.warning(
            "%d background task(s) did not stop within %.1fs: %s",
            len(stuck),
            grace,
            ", ".join(sorted(_named(t) for t in stuck)),
        )


def _named(task: asyncio.Future[Any]) -> str:
    """Which loop did not stop: its coroutine's name (a task's own name is "Task-12")."""
    coro = task.get_coro() if isinstance(task, asyncio.Task) else None
    return str(getattr(coro, "__qualname__", None) or task)
