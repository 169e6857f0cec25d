"""Stopping the simulator's background tasks (the product's core/tasks.py, copied: the
simulator imports nothing of the product, as a Twilio client's stand-in would not).

A cancelled task can fail to stop: on Python 3.11, asyncio.wait_for may swallow a
cancellation that arrives as its inner awaitable completes, and a worker loop then waits
for its next job forever. A stop that awaited such a task would hang the simulator's
shutdown, so tasks get a grace period and are then left behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("earpiece.sim.tasks")  # as the simulator's other loggers

GRACE_SECONDS = 2.0


async def cancel_all(tasks: Iterable[asyncio.Future[Any]], grace: float = GRACE_SECONDS) -> None:
    """Cancel every task and wait up to `grace` seconds for them to finish."""
    pending = [t for t in tasks if not t.done()]
    for task in pending:
        task.cancel()
    if not pending:
        return
    _, stuck = await asyncio.wait(pending, timeout=grace)
    for task in stuck:
        task.cancel()  # once more; it will not be awaited again
    if stuck:
        log.warning("%d background task(s) did not stop within %.1fs", len(stuck), grace)
