"""Alerts that move with the clock, pushed to the feed.

A hold grows long, a silence becomes dead air, with no callback to say so.
The dashboard recomputes on every refresh; SSE clients need a push. Once a
tick, one process (a Redis lock) compares each live call's alerts with those
it last announced (`{ns}:alerts`) and puts the changed calls on the feed
again (LiveFloor.announce: the document as it is now, read and appended in
one script). Only changed calls are announced; nothing is re-rendered
(the floor's render cache recomputes alerts only).

Issue 29: the floor it goes over comes from `source`, in the service the board hub's
floor kept from the feed (`BoardHub.floor_now`: alerts as of now, worked out only for the
calls whose alerts were due to move), not a read of every document each second. The
process that ticks keeps the lock while it goes on ticking (renewed each tick), so one
process keeps that floor, and the marks it announced stay in its memory: read from Redis
only when it takes the lock over.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError

from core import tasks
from live.model import Json
from live.store import LiveFloor

log = logging.getLogger("earpiece.ticker")

TICK_SECONDS = 1.0
TRIM_EVERY_SECONDS = 30.0
BUSY_FACTOR = 5


# KEYS[1]: the tick lock; ARGV[1]: this process's token, ARGV[2]: its new life (ms).
# Renews the lock if this process holds it; 1 if it did, else 0.
RENEW_LUA = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
# The lock lives this many pauses: the ticking process renews it each tick; another takes
# over only when it stops ticking.
LOCK_PAUSES = 3

Marks = dict[str, str]  # sid -> its alerts as last announced


async def tick(floor: LiveFloor, conferences: list[Json], marks: Marks | None = None) -> int:
    """One tick over the floor as it is now; returns how many calls were announced again.

    `marks`: the alerts as last announced, when this process knows them (it has ticked
    alone since it read them); updated in place. None: read from Redis."""
    now = {c["sid"]: ",".join(c["alerts"]) for c in conferences}
    known = marks if marks is not None else await floor.alert_marks()
    changed = {sid: alerts for sid, alerts in now.items() if known.get(sid, "") != alerts}
    gone = [sid for sid in known if sid not in now]
    announced = await floor.announce(list(changed))
    await floor.set_alert_marks(changed, gone)
    if marks is not None:
        marks.update(changed)
        for sid in gone:
            del marks[sid]
    return announced


# Where a tick's floor comes from: every live call rendered with its alerts as of now;
# None when it has none to give this tick (it is being read whole already): the tick waits.
Source = Callable[[], Awaitable[list[Json] | None]]


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
    source: Source | None = None,
) -> None:
    lock = floor.keys.lock("tick")
    token = uuid.uuid4().hex.encode()
    renew: Any = floor.redis.register_script(RENEW_LUA)
    read = source or floor.conferences
    marks: Marks | None = None  # known while this process alone ticks
    pause = every
    trimmed = 0.0
    while True:
        await tasks.pause(pause)
        try:
            life = max(50, int(pause * 1000 * LOCK_PAUSES))
            if await renew(keys=[lock], args=[token, life]):
                pass  # still ours: nobody else ticked meanwhile, the marks in memory hold
            elif await floor.redis.set(lock, token, nx=True, px=life):
                marks = None  # taken over: as the last holder left them
            else:
                marks = None
                continue
            held_at = time.monotonic()
            if marks is None:  # taken over, or forgotten after a failed tick: read once
                marks = await floor.alert_marks()
            started = time.monotonic()
            conferences = await read()
            if conferences is None:
                continue  # the lock was renewed: the next tick goes over the floor
        except RedisError as exc:
            marks = None
            log.info("the once-a-second pass could not read the floor: %s", exc)
            continue
        except Exception:
            marks = None
            log.warning("the once-a-second pass could not read the floor", exc_info=True)
            continue
        try:
            await tick(floor, conferences, marks)
        except Exception as exc:
            marks = None  # what was written is not known: read again next time
            if isinstance(exc, RedisError):
                log.info("the once-a-second pass could not announce alerts: %s", exc)
            else:
                log.warning("the once-a-second pass could not announce alerts", exc_info=True)
        if also is not None:
            await _safely("guard the floor", also(conferences))
        if feed_max_age_seconds is not None and started - trimmed > TRIM_EVERY_SECONDS:
            # The feed holds whole documents (customers' numbers among them): kept by age
            # as well as by count, so a quiet floor does not keep a week of calls.
            trimmed = started
            await _safely("trim the feed", floor.trim_feed(feed_max_age_seconds))
        # A huge floor, or one that is mostly new, costs more to go over than a second
        # can spare: then tick less often, so the pass stays under about a fifth of the
        # process.
        pause = max(every, (time.monotonic() - started) * BUSY_FACTOR)
        if time.monotonic() - held_at + pause >= life / 1000 / 2:
            # A slow tick stretched the next pause towards the lock's life, taken from the
            # pause before: held for the new one, or another process takes over mid-stride
            # and starts from the marks in Redis (a loaded runner found it).
            try:
                await renew(keys=[lock], args=[token, max(50, int(pause * 1000 * LOCK_PAUSES))])
            except RedisError as exc:
                log.info("the once-a-second pass could not keep its lock: %s", exc)
