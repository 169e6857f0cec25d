"""What rendering a stored conference costs, this tree against a baseline commit.

Every read of the floor renders each changed document (the board's pass, the feed, the
API): `orjson.loads` of the stored bytes, then `live.model.render_with_clock` and its
alerts. Issue 24 §3 put a decoding step in front (core/documents.py: the stored short keys
to readable names). This measures the whole step per document, side by side in one run:
the baseline (`git archive` of a commit, default main) and this tree, each in a process of
its own, in alternating rounds over the same documents (a floor's mix: waiting, talking,
on hold, monitored, transcribed), and prints the CPU µs a document takes and the ratio.

    python -m bench.render_cost [--baseline COMMIT] [--docs 3000] [--rounds 6]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_795_482_000_000


def documents(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """Stored conference documents as live/apply.lua and the scripts after it write them."""
    agents = ["bob", "carol", "dave", "erin", "frank"]
    out = []
    for i in range(n):
        sid, start = f"CF{i:032x}", T0 - rng.randrange(1_800_000)
        people: dict[str, Any] = {}
        legs = [("customer", start)]
        if rng.random() < 0.85:
            legs.append((f"agent:{rng.choice(agents)}", start + rng.randrange(60_000)))
        if rng.random() < 0.1:
            legs.append(("supervisor:ana", start + 90_000))
        for n_leg, (label, joined) in enumerate(legs):
            call = f"CA{i:030x}{n_leg:02d}"
            hold = label == "customer" and rng.random() < 0.1
            speaking = rng.random() < 0.3
            people[call] = {
                "call_sid": call, "label": label, "present": True, "ps": 3 + n_leg,
                "fs": 5, "ss": 9, "js": 2 + n_leg, "hu": 0,
                "ht": [[6, joined + 5000]] if hold else {},
                "joined": joined, "muted": False, "hold": hold, "coaching": False, "coach": "",
                "eoe": label == "customer", "speaking": speaking,
                "speech_at": joined + rng.randrange(100_000), "talk": rng.randrange(200_000),
                "hold_since": joined + 5000 if hold else None, "hold_total": rng.randrange(30_000),
                "number": "+81312345678" if label == "customer" else None,
            }  # fmt: skip
            people[call] = {k: v for k, v in people[call].items() if v is not None}
        doc: dict[str, Any] = {
            "sid": sid, "fn": f"WT{i:032x}", "status": "in-progress", "seq": 12, "p": people,
            "mon": {}, "started": start, "start_seen": True, "updated": start + 120_000,
            "holds": rng.randrange(3),
        }  # fmt: skip
        if len(legs) == 3:
            doc["mon"]["ana"] = {"supervisor": "ana", "conference_sid": sid, "call_sid": "CAs",
                                 "mode": "listen", "since": start + 90_000,
                                 "status": "connected"}  # fmt: skip
        if rng.random() < 0.3:
            last = {"s": "agent", "t": "はい、承知しました", "at": start + 100_000}
            doc["tx"] = {"st": "on", "gt": "GT1", "call": "CA1", "lang": "ja-JP", "last": last}
        out.append(doc)
    return out


def child(path: str, rounds: int) -> None:
    """In the tree on sys.path: µs a document to decode and render them all, each round."""
    import orjson

    from live.model import Thresholds, render_with_clock
    from live.roster import load

    roster = load(None)
    raws = [orjson.dumps(d) for d in json.loads(Path(path).read_text(encoding="utf-8"))]
    limits = Thresholds()
    now = T0
    for _ in range(rounds):
        started = time.process_time()  # CPU time: a shared machine preempts the wall clock
        for raw in raws:
            rendered, clock = render_with_clock(orjson.loads(raw), roster)
            if clock is not None:
                rendered["alerts"] = clock.alerts(now, limits)
                rendered["signals"] = clock.signals(now, limits)
        print((time.process_time() - started) / len(raws) * 1e6, flush=True)


def run(tree: Path, path: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", f"from bench.render_cost import child; child({path!r}, 3)"],
        env=env, cwd=tree, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return min(float(x) for x in out.stdout.split())  # best of the process's three passes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", default="main")
    parser.add_argument("--docs", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "baseline"
        archive = subprocess.run(["git", "archive", args.baseline], cwd=ROOT, capture_output=True,
                                 check=True).stdout  # fmt: skip
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(base, filter="data")
        # The baseline runs this very bench's child (it may predate this file).
        (base / "bench" / "render_cost.py").write_text(Path(__file__).read_text("utf-8"), "utf-8")
        path = str(Path(folder) / "docs.json")
        Path(path).write_text(json.dumps(documents(args.docs, random.Random(24))), "utf-8")
        before, after = [], []
        for _ in range(args.rounds):
            before.append(run(base, path))
            after.append(run(ROOT, path))
    b, a = statistics.median(before), statistics.median(after)
    print(f"render a stored document ({args.docs} documents, {args.rounds} alternating rounds):")
    for name, value, rounds in (("baseline " + args.baseline, b, before), ("this tree", a, after)):
        each = ", ".join(f"{x:.1f}" for x in rounds)
        print(f"  {name:<20} {value:6.1f} µs  (rounds: {each})")
    print(f"  this tree / baseline: {a / b:.2f}")


if __name__ == "__main__":
    main()
