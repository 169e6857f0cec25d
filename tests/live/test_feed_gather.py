"""The feed's reader with no /events stream open gathers changes between reads (live/feed.py
GATHER_SECONDS): a hundred changes trickled in over half a second reach the board's
listener in a few batches, not one read each; and none is lost or reordered."""

from __future__ import annotations

import asyncio
import time
import uuid

from core.redis_client import RedisTarget, async_client
from live.events import parse_conference_event
from live.feed import GATHER_SECONDS, FeedHub
from live.roster import load as load_roster
from live.store import FeedEntry, LiveFloor, now_ms
from tests.helpers import Conference

CHANGES = 100
APART_SECONDS = 0.005


def test_trickled_changes_reach_a_listener_in_few_reads_all_in_order(
    redis_target: RedisTarget,
) -> None:
    async def run() -> tuple[list[list[FeedEntry]], float]:
        redis = async_client(redis_target)
        floor = LiveFloor(redis, namespace="g" + uuid.uuid4().hex[:10], roster=load_roster(None))
        feed = FeedHub(floor)
        batches: list[list[FeedEntry]] = []
        await feed.start()
        try:
            await feed.listen(batches.append)
            sids = []
            started = time.monotonic()
            for _ in range(CHANGES):
                conference = Conference()
                sids.append(conference.sid)
                event = parse_conference_event(conference.event("conference-start"), now_ms())
                await floor.apply(event)
                await asyncio.sleep(APART_SECONDS)
            took = time.monotonic() - started
            for _ in range(200):
                if sum(len(b) for b in batches) >= CHANGES:
                    break
                await asyncio.sleep(0.05)
            assert [e.sid for b in batches for e in b] == sids  # all, once, in order
            return batches, took
        finally:
            await feed.stop()
            await redis.aclose()

    batches, took = asyncio.run(run())
    # Read as they came, that was a read a change or two; gathered, a read every 50 ms at
    # most over the time they took to come (and the last one after).
    assert len(batches) <= took / GATHER_SECONDS + 3, (took, [len(b) for b in batches])
