"""Redis's own cost of live/apply.lua a callback: this tree's script beside another version.

The service is left out: the same conference callbacks (bench/common.py's Floor, two legs
with speech turns, as bench/ingest.py sends them) are parsed as the service parses them
and applied in batches of `--batch` consecutive events, as live/batching.py groups what
arrives together under load, through EVALSHA on one Redis. The two scripts take turns,
a chunk of batches each (each on a namespace of its own, every event applied once), so a
neighbour's load falls on both alike. Prints the Redis server's CPU microseconds an event
(/proc, when it runs on this machine) and the script call's time an event, for each.

    python -m bench.apply_script [--against REV] [--conferences 3000] [--batch 15] [--live 1]

`--against REV` (default HEAD): the other version, read with `git show REV:live/apply.lua`;
`--other FILE` reads it from a file instead.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
import uuid
from pathlib import Path

import orjson
import redis as redis_sync

from bench.common import Floor, cpu_seconds, interleaved, redis_url
from core.keys import Keys
from live.events import parse_conference_event
from live.late import LEFT_SECONDS
from live.scripts import FEED_ENTRY, script
from live.store import now_ms

HERE = Path(__file__).parent


Event = tuple[str, tuple[str | int, ...], bytes]


def events(conferences: int, live: int = 1) -> list[Event]:
    """(ConferenceSid, the event as script arguments, as JSON), in the order wrk sends them
    (`live` conferences' interleaved: bench/common.py interleaved): a script before 2026-12
    took JSON (ConferenceEvent.for_script), one after, arguments."""
    floor = Floor("http://127.0.0.1:1")
    now = now_ms()
    out: list[Event] = []
    stream = (floor.conference(participants=2, speech_pairs=4) for _ in range(conferences))
    for params in interleaved(stream, live):
        event = parse_conference_event(params, now)
        out.append((event.conference_sid, event.script_args(), orjson.dumps(event.for_script())))
    return out


class Runner:
    def __init__(self, client: redis_sync.Redis, source: str, name: str) -> None:
        self.client = client
        self.sha = client.script_load(source)
        self.name = name
        self.positional = "event_at(" in source
        self.keys = Keys("b" + uuid.uuid4().hex[:8])
        k = self.keys
        self.shared = [k.live, k.calls, k.feed, k.supervisors, k.legs, k.dialing, k.ended,
                       k.left, k.left_until]  # fmt: skip
        self.cpu = 0.0
        self.seconds: list[float] = []
        self.events = 0
        self.outcomes: dict[str, int] = {}

    def run(self, batch: list[Event]) -> None:
        k = self.keys
        keys = list(self.shared)
        for sid, _, _ in batch:
            keys += [k.conference(sid), k.seen(sid), k.tokens(sid), k.timeline(sid)]
        args: list[bytes | str | int] = [20_000, 86_400, LEFT_SECONDS]
        for _, positional, json in batch:
            if self.positional:
                args.extend(positional)
            else:
                args.append(json)
        started = time.perf_counter()
        reply = self.client.evalsha(self.sha, len(keys), *keys, *args)
        self.seconds.append((time.perf_counter() - started) / len(batch))
        for outcome in reply[::3]:
            word = outcome.decode()
            self.outcomes[word] = self.outcomes.get(word, 0) + 1
        self.events += len(batch)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--against", default="HEAD", help="git revision of the other script")
    parser.add_argument(
        "--other", type=Path, help="the other script's file (instead of a revision)"
    )
    parser.add_argument("--conferences", type=int, default=3000, help="for each script")
    parser.add_argument("--batch", type=int, default=15, help="events a script call")
    parser.add_argument("--chunk", type=int, default=50, help="batches a turn")
    parser.add_argument(
        "--live", type=int, default=1, help="conferences interleaved, as live calls send them"
    )
    args = parser.parse_args()

    if args.other:
        other, other_name = args.other.read_text(), str(args.other)
    else:
        other = subprocess.run(
            ["git", "show", f"{args.against}:live/apply.lua"],
            capture_output=True, text=True, check=True, cwd=HERE.parent,
        ).stdout  # fmt: skip
        other_name = f"apply.lua at {args.against}"
    with redis_url() as url:
        client = redis_sync.Redis.from_url(url)
        pid = int(client.info("server")["process_id"])
        local = Path(f"/proc/{pid}").exists()
        runners = [Runner(client, FEED_ENTRY + other, other_name),
                   Runner(client, script("apply.lua"), "apply.lua in this tree")]  # fmt: skip
        streams = [events(args.conferences, args.live) for _ in runners]
        batches = [
            [stream[i : i + args.batch] for i in range(0, len(stream), args.batch)]
            for stream in streams
        ]
        for start in range(0, len(batches[0]), args.chunk):
            for runner, own in zip(runners, batches, strict=True):
                before = cpu_seconds([pid]) if local else 0.0
                for batch in own[start : start + args.chunk]:
                    runner.run(batch)
                if local:
                    runner.cpu += cpu_seconds([pid]) - before
        feeds = [client.xlen(r.keys.feed) for r in runners]
        client.close()
    print(f"apply.lua: {args.conferences} conferences of 13 events each, {args.live} at a "
          f"time, batches of {args.batch}, turns of {args.chunk} batches")  # fmt: skip
    for runner, feed in zip(runners, feeds, strict=True):
        cpu = f"{runner.cpu / runner.events * 1e6:.1f}" if local else "-"
        print(
            f"{runner.name:<28} Redis CPU us/event {cpu:>6}   call us/event median "
            f"{statistics.median(runner.seconds) * 1e6:6.1f}   outcomes {runner.outcomes}"
            f"   feed entries {feed}"
        )


if __name__ == "__main__":
    main()
