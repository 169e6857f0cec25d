"""A big floor: Redis memory per live conference, and reading all of it through the API.

Fills one namespace with N live conferences (default 10,000) of 4
participants each (conference-start and 4 joins, through the same apply
script the webhook uses), then prints Redis's memory before and after, split
by structure, and times `GET /api/conferences` for all of them.

    python -m bench.floor_memory [--conferences 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from typing import Any

import httpx

from bench.common import API_TOKEN, Floor, callbacks_service, redis_url
from core.redis_client import RedisTarget, _is_cluster, async_client
from live.events import parse_conference_event
from live.roster import load as load_roster
from live.store import LiveFloor

# Arrival time 0: these parse Twilio's own Timestamp, whatever today's date.
ANY_TIME = 2**62


async def fill(url: str, namespace: str, conferences: int) -> dict[str, Any]:
    redis = async_client(RedisTarget(url, _is_cluster(url), None))
    floor = LiveFloor(redis, namespace=namespace, roster=load_roster(None))
    before = (await redis.info("memory"))["used_memory"]
    factory = Floor("http://bench")
    events = []
    for _ in range(conferences):
        events += factory.conference(participants=4, end=False)
    parsed = [parse_conference_event(p, 0, max_skew_ms=ANY_TIME) for p in events]
    started = time.perf_counter()
    for i in range(0, len(parsed), 500):
        await asyncio.gather(*(floor.apply(e) for e in parsed[i : i + 500]))
    fill_seconds = time.perf_counter() - started
    after = (await redis.info("memory"))["used_memory"]
    keys = floor.keys
    sample = await floor.live_sids()
    docs = [await redis.memory_usage(keys.conference(s)) or 0 for s in sample[:200]]
    seen = [await redis.memory_usage(keys.seen(s)) or 0 for s in sample[:200]]
    timelines = [await redis.memory_usage(keys.timeline(s)) or 0 for s in sample[:200]]
    parts = {
        "conference documents": statistics.mean(docs) * len(sample),
        "sequence bitmaps": statistics.mean(seen) * len(sample),
        "event timelines": statistics.mean(timelines) * len(sample),
        "live index": await redis.memory_usage(keys.live) or 0,
        "call index": await redis.memory_usage(keys.calls) or 0,
        "change feed": await redis.memory_usage(keys.feed, samples=0) or 0,
    }
    feed_length = await redis.xlen(keys.feed)
    await redis.aclose()
    return {
        "live": len(sample), "events": len(parsed), "used": after - before,
        "parts": parts, "feed_length": feed_length, "fill_seconds": fill_seconds,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conferences", type=int, default=10_000)
    parser.add_argument("--reads", type=int, default=7)
    args = parser.parse_args()

    namespace = "bench" + uuid.uuid4().hex[:6]
    with redis_url() as url:
        filled = asyncio.run(fill(url, namespace, args.conferences))
        with callbacks_service(url, namespace) as service:
            timings = []
            size = 0
            with httpx.Client(
                base_url=service.url, headers={"Authorization": f"Bearer {API_TOKEN}"}
            ) as http:
                for _ in range(args.reads):
                    started = time.perf_counter()
                    response = http.get("/api/conferences")
                    timings.append((time.perf_counter() - started) * 1000)
                    size = len(response.content)
                    assert len(response.json()["conferences"]) == filled["live"]

    mb = 1024 * 1024
    print(f"floor: {filled['live']} live conferences x 4 participants "
          f"({filled['events']} callbacks applied in {filled['fill_seconds']:.1f}s)")  # fmt: skip
    per = filled["used"] / filled["live"]
    print(f"Redis memory used by the floor: {filled['used'] / mb:.1f} MB "
          f"({per:.0f} bytes per conference; target < 50 MB)")  # fmt: skip
    for name, value in filled["parts"].items():
        print(f"  {name:<22}{value / mb:>8.1f} MB")
    print(f"  (change feed holds {filled['feed_length']} entries; EARPIECE_FEED_MAXLEN bounds it)")
    cold, warm = timings[0], statistics.median(timings[1:])
    print(f"GET /api/conferences, all {filled['live']}: first read {cold:.0f} ms, then median "
          f"{warm:.0f} ms, max {max(timings[1:]):.0f} ms over {args.reads - 1} reads; "
          f"{size / mb:.1f} MB of JSON (target < 300 ms)")  # fmt: skip


if __name__ == "__main__":
    main()
