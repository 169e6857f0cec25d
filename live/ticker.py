"""Alerts that move with the clock, pushed to the feed.

A hold grows long, a silence becomes dead air, with no callback to say so.
The dashboard recomputes on every refresh; SSE clients need a push. Once a
tick, one process (a Redis lock) compares each live call's alerts with those
it last announced (`{ns}:alerts`) and puts the changed calls on the feed
again (LiveFloor.announce: the document as it is now, read and appended in
one script). Only changed calls are announced; nothing is re-rendered
(the floor's render cache recomputes alerts only).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from live.model import Json
from live.store import LiveFloor

log = logging.getLogger("earpiece.ticker")

TICK_SECONDS = 1.0
TRIM_EVERY_SECONDS = 30.0
BUSY_FACTOR = 5


async def tick(floor: LiveFloor, conferences: list[Json]) -> int:
    """One tick over the floor as just read; returns how many calls were announced again."""
    now = {c["sid"]: ",".join(c["alerts"]) for c in conferences}
    marks = await floor.alert_marks()
    changed = {sid: alerts for sid, alerts in now.items() if marks.get(sid, "") != alerts}
    gone = [sid for sid in marks if sid not in now]
    announced = await floor.announce(list(changed))
    await floor.set_alert_marks(changed, gone)
    return announced


# Something else to do with the floor once a tick, in the same process (the
# orphan and duplicate guard): one read of the floor serves both.
Also = Callable[[list[Json]], Awaitable[object]]


async def _safely(what: str, work: Awaitable[object]) -> None:
    """One part of the pass; its failure is logged and the other parts still run."""
    try:
        await work
    except RedisError as exc:
        log.info("the once-a-second pass could not %s: %s", what, exc)
    except Exception:
        log.warning("the once-a-second pass could not %s; will retry", what, exc_info=True)


async def run_forever(
    floor: LiveFloor,
    also: Also | None = None,
    every: float = TICK_SECONDS,
    feed_max_age_seconds: float | None = None,
) -> None:
    lock = floor.keys.lock("tick")
    pause = every
    trimmed = 0.0
    while True:
        await asyncio.sleep(pause)
        try:
            if not await floor.redis.set(lock, b"1", nx=True, px=max(50, int(pause * 900))):
                continue
            started = time.monotonic()
            conferences = await floor.conferences()
        except RedisError as exc:
            log.info("the once-a-second pass could not read the floor: %s", exc)
            continue
        except Exception:
            log.warning("the once-a-second pass could not read the floor", exc_info=True)
            continue
        await _safely("announce alerts", tick(floor, conferences))
        if also is not None:
            await _safely("guard the floor", also(conferences))
        if feed_max_age_seconds is not None and started - trimmed > TRIM_EVERY_SECONDS:
            # The feed holds whole documents (customers' numbers among them): kept by age
            # as well as by count, so a quiet floor does not keep a week of calls.
            trimmed = started
            await _safely("trim the feed", floor.trim_feed(feed_max_age_seconds))
        # A huge floor, or one that is mostly new, costs more to read than a
        # second can spare: then tick less often, so the pass stays under about
        # a fifth of the process (a 10,000-call floor ticks every second or two).
        pause = max(every, (time.monotonic() - started) * BUSY_FACTOR)
