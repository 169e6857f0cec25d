"""The RecordingSid -> ConferenceSid index is bounded (review of issue 21).

Late recording callbacks find their call through `{ns}:recidx` (live/recordings.py), but a
hash field has no expiry of its own on Redis 6.2, so before this every recording the floor
ever made stayed in the index for good: on a 300-seat floor, thousands a day, forever. Each
entry now lasts as long as its call's recordings (`keep_seconds` after its last change) and
is pruned by later changes, while a recording still kept is found as before.
"""

from __future__ import annotations

import asyncio

from core.keys import Keys
from core.redis_client import RedisTarget, async_client
from live.recordings import RecordingStates
from live.store import now_ms
from tests.helpers import sid


def test_the_index_forgets_recordings_older_than_their_calls(
    redis_target: RedisTarget, namespace: str
) -> None:
    keys = Keys(namespace)
    keep = 3600

    async def story() -> None:
        redis = async_client(redis_target)
        try:
            states = RecordingStates(redis, keys, keep)
            start = now_ms()
            old = [(sid("CF"), sid("RE")) for _ in range(3)]
            for conference, recording in old:
                outcome = await states.note(conference, {"sid": recording,
                                                         "status": "in-progress"},
                                            now_ms=start)  # fmt: skip
                assert outcome == "applied"
                assert await states.conference_of(recording) == conference
            # A day on (well past `keep`), the next recording's change prunes the old ones...
            later = start + 2 * keep * 1000
            conference, recording = sid("CF"), sid("RE")
            assert await states.note(conference, {"sid": recording, "status": "in-progress"},
                                     now_ms=later) == "applied"  # fmt: skip
            for _, gone in old:
                assert await states.conference_of(gone) is None
            assert await redis.zscore(keys.recording_index_until, old[0][1]) is None
            # ...and the new one is found, with its bound moved by each change.
            assert await states.conference_of(recording) == conference
            first = await redis.zscore(keys.recording_index_until, recording)
            assert await states.note(conference, {"sid": recording, "status": "completed",
                                                  "duration": 42},
                                     now_ms=later + 5000) == "applied"  # fmt: skip
            moved = await redis.zscore(keys.recording_index_until, recording)
            assert first is not None and moved is not None and moved == first + 5000
            assert await redis.hlen(keys.recording_index) == 1
        finally:
            await redis.aclose()

    asyncio.run(story())


def test_a_recording_within_its_keep_is_still_found(
    redis_target: RedisTarget, namespace: str
) -> None:
    """Pruning takes only what is past its bound: a recording changed an hour ago stays."""
    keys = Keys(namespace)

    async def story() -> None:
        redis = async_client(redis_target)
        try:
            states = RecordingStates(redis, keys, 24 * 3600)
            start = now_ms()
            conference, recording = sid("CF"), sid("RE")
            await states.note(conference, {"sid": recording, "status": "in-progress"},
                              now_ms=start)  # fmt: skip
            await states.note(sid("CF"), {"sid": sid("RE"), "status": "in-progress"},
                              now_ms=start + 3600 * 1000)  # fmt: skip
            assert await states.conference_of(recording) == conference
            assert await redis.hlen(keys.recording_index) == 2
        finally:
            await redis.aclose()

    asyncio.run(story())
