"""A kept floor's rows on a second's turn are the bytes a full rebuild gives (issue 29).

On a second's turn every ticking row's reasons ("on hold for 1:05", "nobody has spoken
for 0:20", "the call has lasted 10:02", "the caller has waited 0:41") move at once; the
kept floor fills in only those durations and splices them into the row it encoded
before (live/board_floor.py `_redone`). Here a floor full of such alerts (holds, dead
air, callers left waiting, long calls, phrase alerts quoting English and Japanese lines,
duplicates) has its clock moved a second or half a second at a time across every
threshold, and each view's rows must be, byte for byte, those of a hub that renders and
encodes every row anew on every pass. The reasons are not localised on the server (the
browser shows them as sent), so one floor with Japanese and English calls covers both.
"""

from __future__ import annotations

import asyncio
import uuid

from core.redis_client import RedisTarget, async_client
from live.board_hub import BoardHub
from live.feed import FeedHub
from live.roster import load as load_roster
from live.store import LiveFloor
from live.transcript import Transcripts
from tests.live.test_board_floor import BASE_MS, VIEWS, Story, caught_up


async def tick(target: RedisTarget) -> tuple[int, int]:
    redis = async_client(target)
    floor = LiveFloor(redis, namespace="k" + uuid.uuid4().hex[:10], roster=load_roster(None))
    transcripts = Transcripts(redis, floor, floor.roster, 1000, 600)
    feed = FeedHub(floor)
    await feed.start()
    kept = BoardHub(floor, feed, period=0, mask=True, country="JP", clock_seconds=0)
    full = BoardHub(floor, feed, period=0, mask=True, country="JP", incremental=False)
    for filters in VIEWS:
        for hub in (kept, full):
            await hub.watch(filters)
    story = Story(floor, transcripts, 29)
    await kept.run_once(BASE_MS)
    compared = redone = 0
    try:
        for _ in range(40):
            await story.new_call()
        for _ in range(80):  # holds, speech, lines (phrases), agents who leave
            await story.step()
        # A second at a time across dead air (15 s), long hold and long wait (60 s), then
        # half a second at a time across a long call (600 s).
        instants = [story.clock + s for s in range(0, 75)]
        instants += [story.clock + 590 + s / 2 for s in range(0, 30)]
        for instant in instants:
            story.clock = instant
            await caught_up(floor, feed)
            at = BASE_MS + int(instant * 1000)
            await kept.run_once(at)
            await full.run_once(at)
            assert kept.error is None and full.error is None
            for key, view in kept.views.items():
                other = full.views[key]
                assert view.order == other.order, (instant, key)
                assert view.rows == other.rows, (instant, key)
                compared += len(view.rows)
        assert kept.kept is not None
        redone = sum(c.why_pieces is not None for c in kept.kept.calls.values())
    finally:
        await feed.stop()
        await redis.delete(*[k async for k in redis.scan_iter(f"{floor.keys.tag}*")] or ["-"])
        await redis.aclose()
    return compared, redone


def test_spliced_rows_are_the_rows_rebuilt_whole(redis_target: RedisTarget) -> None:
    compared, redone = asyncio.run(tick(redis_target))
    assert compared > 1000
    assert redone > 10, "rows were redone from their reasons' pieces"
