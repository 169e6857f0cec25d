"""Live calls per team over time: samples for the dashboard's last-hour chart.

The live floor only knows the present, so a sampler records the count of live
calls per team every `BUCKET_SECONDS`. Any number of service processes run
the sampler; the first to claim a time bucket (SET NX) records it, so each
bucket is sampled once however many processes there are. Samples are a
Stream trimmed to the history setting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from redis.exceptions import ResponseError

from live.store import LiveFloor, now_ms, text
from live.summary import summarize

BUCKET_SECONDS = 30


@dataclass(frozen=True, slots=True)
class Sample:
    at_ms: int
    by_team: dict[str, int]


def bucket_of(at_ms: int) -> int:
    return at_ms // (BUCKET_SECONDS * 1000)


# The floor as this process already keeps it (the board hub's, kept from the feed), or None
# where it keeps none that is current: then the sample reads the floor whole.
Kept = Callable[[], Sequence[Mapping[str, Any]] | None]


async def sample(floor: LiveFloor, at_ms: int | None = None, kept: Kept | None = None) -> bool:
    """Record this bucket's counts, unless another process already did; True if recorded.

    `kept`: where the process keeps the floor (issue 29), its counts come from there; a
    read of 10,000 documents every bucket took seconds of the process's CPU at once, and
    every board watcher waited meanwhile."""
    at_ms = at_ms if at_ms is not None else now_ms()
    bucket = bucket_of(at_ms)
    claimed = await floor.redis.set(
        floor.keys.history_bucket(bucket), b"1", nx=True, ex=BUCKET_SECONDS * 4
    )
    if not claimed:
        return False
    conferences = kept() if kept is not None else None
    if conferences is None:
        conferences = await floor.conferences()
    counts = summarize(conferences, at_ms / 1000).by_team
    try:
        await floor.redis.xadd(
            floor.keys.history,
            {"c": orjson.dumps(counts)},
            id=f"{bucket * BUCKET_SECONDS * 1000}-0",
            maxlen=max(10, floor.history_seconds // BUCKET_SECONDS),
            approximate=True,
        )
    except ResponseError:
        # A newer bucket is already recorded: this process's clock is behind another's.
        return False
    return True


async def samples(floor: LiveFloor, since_ms: int) -> list[Sample]:
    rows: Any = await floor.redis.xrange(floor.keys.history, min=str(since_ms), max="+")
    out = []
    for raw_id, fields in rows:
        at = int(text(raw_id).partition("-")[0])
        out.append(Sample(at, orjson.loads(fields[b"c"])))
    return out
