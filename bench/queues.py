"""A TaskRouter floor, measured side by side in one run (issue 12).

1. Ingest: wrk replays distinct, validly signed TaskRouter events to
   `/twilio/taskrouter-events` and, on the same service, distinct conference
   callbacks to `/twilio/conference-events`; requests/s and the ratio
   (target: TaskRouter ingest >= the conference callback rate).
2. A wallboard refresh at 50 queues and 1,000 workers: the server time of
   what one board pass reads and works out for every wallboard (all queues
   and all agents), p50 / p95 (target < 100 ms).
3. A caller entering a queue, to the wallboard in a real Chromium page:
   the simulator's Workspace posts the event, the service applies it, the
   board pass sends it, the page draws it; p50 / p95 (target < 1 s).

    python -m bench.queues [--seconds 10] [--trials 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
from playwright.sync_api import sync_playwright

from bench.common import (
    AUTH_TOKEN,
    Floor,
    callbacks_service,
    free_port,
    percentile,
    process,
    redis_url,
    signin_query,
)
from bench.ingest import write_requests, wrk
from bench.sim_floor import ACCOUNT_SID
from bench.watchers import dashboard
from core.redis_client import RedisTarget, async_client
from live.queues import LiveQueues, QueuePolicy
from live.roster import load as load_roster
from live.taskrouter_events import parse_taskrouter_event
from tests.browser import CHROMIUM_ARGS, artifact, chromium_path

HERE = Path(__file__).parent
TR_PATH = "/twilio/taskrouter-events"
TARGET_REFRESH_MS = 100
TARGET_VISIBLE_MS = 1000


def taskrouter_stories(now_ms: int, tasks: int) -> list[dict[str, str]]:
    """A task's life, as TaskRouter posts it, for `tasks` distinct tasks and 50 workers."""
    out = []
    queue_sids = [f"WQ{n:032x}" for n in range(50)]
    for n in range(tasks):
        task, queue = f"WT{uuid.uuid4().hex}", queue_sids[n % 50]
        worker = f"WK{n % 1000:032x}"
        entered = now_ms // 1000
        base = {"AccountSid": ACCOUNT_SID, "WorkspaceSid": "WS" + "0" * 32, "TaskSid": task,
                "TaskQueueSid": queue, "TaskQueueName": f"queue-{n % 50}",
                "TaskQueueEnteredDate": str(entered),
                "TaskAttributes": orjson.dumps({"call_sid": f"CA{uuid.uuid4().hex}",
                                                "from": "+15551230000"}).decode()}  # fmt: skip
        worker_fields = {"WorkerSid": worker, "WorkerName": f"agent{n % 1000}",
                         "WorkerActivityName": "Available",
                         "WorkerAttributes": '{"contact_uri":"client:x"}'}  # fmt: skip
        for step, (kind, status, with_worker) in enumerate((
            ("task.created", "pending", False), ("task-queue.entered", "pending", False),
            ("reservation.created", "reserved", True), ("reservation.accepted", "assigned", True),
            ("task.wrapup", "wrapping", True), ("task.completed", "completed", True),
        )):  # fmt: skip
            at = now_ms + step * 1000
            params = {**base, "EventType": kind, "TaskAssignmentStatus": status,
                      "Timestamp": str(at // 1000), "TimestampMs": str(at),
                      "Sid": f"EV{uuid.uuid4().hex}"}  # fmt: skip
            if with_worker:
                params.update(worker_fields)
            out.append(params)
    return out


def write_taskrouter(base_url: str, count: int, folder: Path) -> Path:
    signer = Floor(base_url, TR_PATH)
    path = folder / "taskrouter.tsv"
    with path.open("w") as out:
        for params in taskrouter_stories(int(time.time() * 1000), count // 6 + 1)[:count]:
            signature, body = signer.signed(params)
            out.write(f"{signature}\t{body}\n")
    return path


def ingest(seconds: int, connections: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Conference callbacks and TaskRouter events on one service: two rounds with fresh
    requests, the second in the other order (so neither kind always goes first into a fresh
    Redis); each kind's requests/s summed over its runs."""
    folder = Path(tempfile.mkdtemp(prefix="ep-bench-"))
    totals: dict[str, dict[str, Any]] = {}
    try:
        with redis_url() as redis, callbacks_service(redis, "bq" + uuid.uuid4().hex[:6]) as svc:
            for round_ in (1, 2):
                files = {"conference": write_requests(svc.url, 120_000, folder),
                         "taskrouter": write_taskrouter(svc.url, 120_000, folder)}  # fmt: skip
                kinds = (
                    ["conference", "taskrouter"] if round_ == 1 else ["taskrouter", "conference"]
                )
                for kind in kinds:
                    path = TR_PATH if kind == "taskrouter" else "/twilio/conference-events"
                    run = wrk(svc.url, files[kind], seconds, connections, path=path)
                    seen = totals.setdefault(
                        kind,
                        {"requests": 0.0, "seconds": 0.0, "errors_status": 0, "p50": [], "p99": []},
                    )
                    seen["requests"] += run["requests"]
                    seen["seconds"] += run["seconds"]
                    seen["errors_status"] += run["errors_status"]
                    seen["p50"].append(run["p50_us"])
                    seen["p99"].append(run["p99_us"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for seen in totals.values():
        seen["rps"] = seen["requests"] / seen["seconds"]
        seen["p50_us"], seen["p99_us"] = max(seen["p50"]), max(seen["p99"])
    return totals["conference"], totals["taskrouter"]


def refresh_times(queues: int, workers: int, runs: int) -> tuple[list[float], int]:
    """Fill a floor of `queues` queues (10 callers waiting in each) and `workers` workers,
    then time what a board pass reads for the wallboards."""

    async def run(url: str) -> tuple[list[float], int]:
        redis = async_client(RedisTarget(url=url, cluster=False, embedded=None))
        floor = LiveQueues(redis, namespace="bq" + uuid.uuid4().hex[:6], roster=load_roster(None),
                           policy=QueuePolicy(ZoneInfo("UTC")))  # fmt: skip
        now = int(time.time() * 1000)
        events = []
        for n in range(workers):
            events.append(
                {
                    "EventType": "worker.activity.update",
                    "WorkspaceSid": "WS1",
                    "TimestampMs": str(now),
                    "WorkerSid": f"WK{n:032x}",
                    "WorkerName": f"agent{n}",
                    "WorkerActivityName": "Available",
                }
            )
        for q in range(queues):
            for k in range(10):
                events.append({"EventType": "task-queue.entered", "WorkspaceSid": "WS1",
                               "TimestampMs": str(now), "TaskSid": f"WT{q:016x}{k:016x}",
                               "TaskQueueSid": f"WQ{q:032x}", "TaskQueueName": f"queue-{q}",
                               "TaskQueueEnteredDate": str(now // 1000 - k * 10),
                               "TaskAttributes": '{"from": "+15551230000"}'})  # fmt: skip
        await asyncio.gather(*(floor.apply(parse_taskrouter_event(e, now)) for e in events))
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            shown, _ = await floor.snapshot()  # what a board pass reads for the wallboards
            times.append((time.perf_counter() - started) * 1000)
        await redis.aclose()
        return times, len(shown)

    with redis_url() as url:
        return asyncio.run(run(url))


def wallboard_latency(trials: int) -> list[float]:
    with redis_url() as redis:
        namespace = "bw" + uuid.uuid4().hex[:6]
        sim_port = free_port()
        sim_url = f"http://127.0.0.1:{sim_port}"
        with callbacks_service(redis, namespace, TWILIO_API_BASE_URL=sim_url) as svc:
            env = {**os.environ, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}
            cmd = [sys.executable, "-m", "earpiece.cli", "sim", "--port", str(sim_port),
                   "--callback-url", svc.url + "/twilio/conference-events", "--taskrouter",
                   "--no-traffic", "--agents", "12"]  # fmt: skip
            with process(cmd, env, sim_url, "/sim/state"):
                state = httpx.get(sim_url + "/sim/state").json()["taskrouter"]
                for agent in state["workers"]:  # nobody answers: callers wait
                    httpx.post(f"{sim_url}/sim/workers/{agent}/activity",
                               json={"activity": "Break"})  # fmt: skip
                dash_env = {**env, "REDIS_URL": redis, "EARPIECE_NAMESPACE": namespace,
                            "TWILIO_API_BASE_URL": sim_url, "PUBLIC_BASE_URL": svc.url,
                            "EARPIECE_SESSION_SECRET": "bench-session-secret-" + "x" * 32,
                            "EARPIECE_DEMO": "true"}  # fmt: skip
                with dashboard(dash_env) as dash, sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=chromium_path(),
                                                args=CHROMIUM_ARGS)  # fmt: skip
                    page = browser.new_page(viewport={"width": 1600, "height": 900})
                    page.goto(f"{dash.url}/wallboard?{signin_query(redis, namespace, 'mina')}")
                    page.get_by_text("No TaskQueue has had a caller yet.").wait_for(timeout=60_000)
                    page.evaluate(OBSERVER)
                    latencies = []
                    for n in range(1, trials + 1):
                        started = time.time() * 1000
                        httpx.post(sim_url + "/sim/calls", json={"queue": "sales"})
                        seen: Any = None
                        deadline = time.monotonic() + 10
                        while seen is None and time.monotonic() < deadline:
                            seen = page.evaluate(f"window.__waiting['{n}']")
                            time.sleep(0.02)
                        if seen is None:
                            raise SystemExit(f"caller {n} never showed on the wallboard")
                        latencies.append(seen - started)
                        time.sleep(0.3 + (n % 5) * 0.11)
                    page.screenshot(path=artifact("bench-wallboard.png"), full_page=True)
                    browser.close()
    return latencies


# In the page: when each waiting count first showed on the "sales" tile.
OBSERVER = """
() => {
  window.__waiting = {};
  const host = [...document.querySelectorAll('*')].find(
    (e) => e.shadowRoot && e.shadowRoot.querySelector('.ep-qtiles'));
  const root = host.shadowRoot;
  const seen = () => {
    const tile = root.querySelector('.ep-qtile[data-queue="sales"] [data-figure="waiting"]');
    if (tile && !(tile.textContent in window.__waiting)) {
      window.__waiting[tile.textContent] = Date.now();
    }
  };
  new MutationObserver(seen).observe(root, {subtree: true, childList: true, characterData: true});
}
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()

    conference, taskrouter = ingest(args.seconds, args.connections)
    times, queues = refresh_times(50, 1000, 30)
    latencies = wallboard_latency(args.trials)

    print(f"ingest, one service, wrk -t1 -c{args.connections}, two rounds of {args.seconds} s "
          "each per kind (A B, then B A, fresh requests each round):")  # fmt: skip
    for name, r in (("conference callbacks", conference), ("TaskRouter events", taskrouter)):
        print(f"  {name:<22}{r['rps']:>9.0f} req/s  p50 {r['p50_us'] / 1000:.2f} ms  "
              f"p99 {r['p99_us'] / 1000:.2f} ms  non-2xx {r['errors_status']}")  # fmt: skip
    print(
        f"  TaskRouter / conference: {taskrouter['rps'] / conference['rps']:.0%} (target >= 100%)"
    )
    p50, p95 = percentile(times, 50), percentile(times, 95)
    print(f"wallboard refresh at {queues} queues, 1,000 workers: p50 {p50:.0f} ms, "
          f"p95 {p95:.0f} ms ({p95 / TARGET_REFRESH_MS:.0%} of the {TARGET_REFRESH_MS} ms "
          "target)")  # fmt: skip
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    print(f"a caller entering a queue, on the wallboard in a real page: p50 {p50:.0f} ms, "
          f"p95 {p95:.0f} ms over {len(latencies)} callers "
          f"({p95 / TARGET_VISIBLE_MS:.0%} of the 1 s target)")  # fmt: skip


if __name__ == "__main__":
    main()
