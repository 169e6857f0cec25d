"""Background loops stop when asked, even when something they awaited swallowed the
cancellation (redis-py's asyncio client was seen returning a reply to a cancelled task)."""

from __future__ import annotations

import asyncio
import contextlib
import time

from core.tasks import cancel_all, pause, stop_if_asked


async def swallowing_call() -> str:
    """A library call that eats the cancellation and answers anyway."""
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(1)
    return "OK"


def test_a_loop_whose_call_swallowed_its_cancel_stops_at_its_next_pause() -> None:
    laps: list[str] = []

    async def loop() -> None:
        while True:
            laps.append(await swallowing_call())
            await pause(30)

    async def run() -> float:
        task = asyncio.create_task(loop())
        await asyncio.sleep(0.05)  # inside the call
        started = time.monotonic()
        await cancel_all([task], grace=5)
        assert task.cancelled()
        return time.monotonic() - started

    took = asyncio.run(run())
    assert laps == ["OK"] and took < 4  # not the 5 s grace, not the 30 s pause


def test_a_pause_not_asked_to_stop_sleeps_and_a_plain_sleep_does_not_notice() -> None:
    """The control: without pause, the same loop sleeps on and outlives the grace."""

    async def loop() -> None:
        while True:
            await swallowing_call()
            await asyncio.sleep(30)

    async def run() -> bool:
        await pause(0.01)  # nobody asked this task to stop: it just sleeps
        task = asyncio.create_task(loop())
        await asyncio.sleep(0.05)
        await cancel_all([task], grace=0.3)
        await asyncio.sleep(0)
        return task.done()

    # cancel_all cancels once more and leaves it: the second cancel ends it (the sleep is
    # not the swallowing call), but only after the grace was spent waiting.
    started = time.monotonic()
    assert asyncio.run(run())  # ended by the second cancel, left unawaited by cancel_all
    assert time.monotonic() - started >= 0.3


def test_a_loop_that_waits_on_an_event_stops_at_the_top_of_its_turn() -> None:
    """The board hub and the feed reader wait on events, not pauses: they ask at each turn."""
    turns: list[int] = []

    async def loop(woken: asyncio.Event) -> None:
        while True:
            stop_if_asked()
            turns.append(len(turns))
            await swallowing_call()
            woken.set()

    async def run() -> bool:
        woken = asyncio.Event()
        task = asyncio.create_task(loop(woken))
        await asyncio.sleep(0.05)
        await cancel_all([task], grace=5)
        return task.cancelled()

    assert asyncio.run(run()) and turns == [0]


def test_a_caught_taskgroup_failure_does_not_stop_the_loop_but_a_stop_still_does() -> None:
    """On Python 3.11 a TaskGroup whose child fails leaves the waiting task's cancelling()
    count raised for good (the board pass's Redis error, caught): the loop must go on, and
    stop when cancel_all asks."""
    turns: list[int] = []

    async def failing() -> None:
        raise ConnectionError("Redis went away")

    async def loop() -> None:
        while True:
            stop_if_asked()
            turns.append(len(turns))
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(failing())
                    group.create_task(asyncio.sleep(0.01))
            except* ConnectionError:
                pass  # the pass failed; the next one tries again
            await pause(0.01)

    async def run() -> bool:
        task = asyncio.create_task(loop())
        await asyncio.sleep(0.2)
        assert not task.done(), "a caught failure stopped the loop"
        await cancel_all([task], grace=5)
        return task.cancelled()

    assert asyncio.run(run()) and len(turns) > 3
