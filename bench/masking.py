"""Card masking (issue 22), side by side with the masking before it, in one run.

1. Per line: the time live/redact.py's `judge` takes on a mix of lines (most without a
   number, as calls go; some with order numbers, amounts, times, phone numbers; some card
   readings in English and Japanese; partials and finals), against the old `prepare`
   (bench/old_redact.py) on the same lines: p50 / p95 / p99 of each, and of what the new
   masking adds per line (target: < 1 ms p95).
2. Ingest: three services on one Redis, in alternating rounds (wrk, each round its own
   distinct callbacks, each sent once): conference callbacks, transcript callbacks with the
   new masking, transcript callbacks with the old one (bench/old_masking.py). Requests/s of
   each, and the ratio of transcripts (new) to conference callbacks (target >= 100%).

    python -m bench.masking [--calls 300] [--share 0.25] [--round-seconds 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from bench import old_redact
from bench.common import callbacks_service, percentile, redis_url
from bench.ingest import wrk
from bench.transcript import BENCH_ROSTER, CONFERENCE_PATH, TRANSCRIPT_PATH, WORDS, Calls
from bench.transcript import write_files as write_plain_files
from live import redact

NUMBERS = [
    "my order number is 58213", "it was 1500 yen", "can you call me back at 15:30",
    "my number is 090-1234-5678", "the total is $42.50 for 3 items", "the 12th of March",
    "注文番号は58213です", "2024年12月3日の15時30分に", "電話番号は090-1234-5678です",
    "千五百円になります", "お問い合わせありがとうございます", "少々お待ちください",
]  # fmt: skip
CARDS = [
    "it's 4634 and 4119 and 0391 and 5758", "5425 2334", "3010 9903",
    "four six three four four one one nine oh three nine one five seven five eight",
    "my card is 4111-1111-1111-1111", "the security code is 737",
    "カード番号は４６３４ー４１１９ー０３９１ー５７５８です", "よんろくさんよん よんいちいちきゅう",
    "四六三四 四一一九 〇三九一 五七五八", "セキュリティコードは737です",
]  # fmt: skip


def line_mix(rng: random.Random, share: float) -> str:
    """One line as calls say them: `share` of them with a number or a card."""
    if rng.random() < share:
        return rng.choice(NUMBERS if rng.random() < 0.6 else CARDS)
    return " ".join(rng.sample(WORDS, rng.randint(6, 12)))


def per_line(lines: list[tuple[str, bool]], repeat: int) -> dict[str, list[float]]:
    """Microseconds per line of each masking, the same lines, interleaved."""
    times: dict[str, list[float]] = {"old": [], "new": [], "added": []}
    clock = time.perf_counter_ns
    for _ in range(repeat):
        for text, final in lines:
            t0 = clock()
            old_redact.prepare(text)
            t1 = clock()
            redact.judge(text, final)
            t2 = clock()
            times["old"].append((t1 - t0) / 1000)
            times["new"].append((t2 - t1) / 1000)
            times["added"].append(((t2 - t1) - (t1 - t0)) / 1000)
    return times


class MixedCalls(Calls):
    """The bench's calls, whose utterances say numbers and cards now and then."""

    share = 0.25

    def utterance(self, customer: str, rng: random.Random) -> list[dict[str, str]]:
        track = rng.choice(("inbound_track", "outbound_track"))
        line = line_mix(rng, self.share)
        words = line.split(" ")
        if len(words) < 3:
            return [self.content(customer, line, True, track)]
        return [self.content(customer, " ".join(words[: len(words) // 3]), False, track),
                self.content(customer, " ".join(words[: 2 * len(words) // 3]), False, track),
                self.content(customer, line, True, track)]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--share", type=float, default=0.25, help="of lines with a number")
    parser.add_argument("--lines", type=int, default=5000, help="distinct lines, per line part")
    parser.add_argument("--round-seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    rng = random.Random(7)
    lines = []
    for _ in range(args.lines):
        line = line_mix(rng, args.share)
        words = line.split(" ")
        lines.append((" ".join(words[: max(1, len(words) // 2)]), False))  # a partial
        lines.append((line, True))
    times = per_line(lines, 3)
    print(f"masking: {len(lines)} lines ({args.share:.0%} with a number or a card; partials "
          f"and finals), each masked 3 times by each, interleaved")  # fmt: skip
    for name in ("old", "new", "added"):
        p50, p95, p99 = (percentile(times[name], p) for p in (50, 95, 99))
        print(f"  {name:>5}: p50 {p50:7.1f} µs  p95 {p95:7.1f} µs  p99 {p99:7.1f} µs  "
              f"worst {max(times[name]):8.1f} µs")  # fmt: skip
    print("  (target: added p95 < 1000 µs)")

    MixedCalls.share = args.share
    folder = Path(tempfile.mkdtemp(prefix="ep-bench-"))
    rounds: dict[str, list[float]] = {"conference": [], "new": [], "old": []}
    try:
        with redis_url() as redis:
            roster = folder / "roster.toml"
            roster.write_text(BENCH_ROSTER, encoding="utf-8")
            ns_new, ns_old = ("bmk" + uuid.uuid4().hex[:6] for _ in range(2))
            with (
                callbacks_service(redis, ns_new, EARPIECE_ROSTER=str(roster)) as new,
                callbacks_service(redis, ns_old, module="bench.old_masking",
                                  EARPIECE_ROSTER=str(roster)) as old,
            ):  # fmt: skip
                calls_new, calls_old = (
                    MixedCalls(new.url, args.calls),
                    MixedCalls(old.url, args.calls),
                )
                calls_new.seed()
                calls_old.seed()
                for n in range(args.rounds):
                    conf_file, new_file, _ = write_plain_files(calls_new, folder / f"n{n}", 60_000)
                    _, old_file, _ = write_plain_files(calls_old, folder / f"o{n}", 60_000)
                    for name, url, file, path in (
                        ("conference", new.url, conf_file, CONFERENCE_PATH),
                        ("new", new.url, new_file, TRANSCRIPT_PATH),
                        ("old", old.url, old_file, TRANSCRIPT_PATH),
                    ):
                        result = wrk(url, file, args.round_seconds, args.connections, path)
                        if result["errors_status"]:
                            raise SystemExit(f"{name}: non-2xx answers during the run")
                        rounds[name].append(result["rps"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    def show(name: str) -> str:
        return ", ".join(f"{r:.0f}" for r in rounds[name])

    mean = {k: sum(v) / len(v) for k, v in rounds.items()}
    print(f"ingest, wrk -c{args.connections}, {args.rounds} alternating rounds of "
          f"{args.round_seconds} s, {args.calls} live calls, {args.share:.0%} of lines with a "
          f"number or a card:")  # fmt: skip
    print(f"  conference callbacks          {show('conference')} req/s")
    print(f"  transcripts, the new masking  {show('new')} req/s")
    print(f"  transcripts, the old masking  {show('old')} req/s")
    print(f"  new / conference {mean['new'] / mean['conference']:.0%} (target >= 100%); "
          f"new / old {mean['new'] / mean['old']:.0%}")  # fmt: skip


if __name__ == "__main__":
    main()
