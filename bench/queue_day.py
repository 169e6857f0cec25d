"""A simulated TaskRouter day with callbacks lost, checked against TaskRouter (issue 12).

The simulator runs a Workspace (`earpiece sim --taskrouter`) with generated
callers, breaks and hang-ups, hurried (--speed), and loses a share of every
callback it posts (--drop, TaskRouter's events and conference callbacks
alike). The service follows the Workspace (TWILIO_WORKSPACE_SID), so its
reconciler repairs from TaskRouter's REST API. At each sample, right after a
reconciler pass, the bench compares what Earpiece says of every queue
(waiting, entered, answered, abandoned) and every worker's activity with
what TaskRouter says (RealTimeStatistics, CumulativeStatistics, Workers,
through the twilio SDK), allowing a second for events still in flight.

    python -m bench.queue_day [--minutes 10] [--speed 10] [--drop 0.01]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.common import API_TOKEN, AUTH_TOKEN, callbacks_service, free_port, process, redis_url
from bench.sim_floor import ACCOUNT_SID
from core.settings import load
from core.twilio_client import make_client

SETTLE_SECONDS = 1.0  # events in flight when both sides are read


def metric(service_url: str, name: str) -> float:
    total = 0.0
    for line in httpx.get(service_url + "/metrics", timeout=5).text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def ours(service_url: str) -> tuple[dict[str, Any], dict[str, str]]:
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    queues = httpx.get(service_url + "/api/queues", headers=headers, timeout=10).json()
    agents = httpx.get(service_url + "/api/agents", headers=headers, timeout=10).json()
    return ({q["name"]: q for q in queues["queues"]},
            {a["worker_sid"]: a["activity"] for a in agents["agents"]})  # fmt: skip


def theirs(ws: Any, midnight: datetime) -> tuple[dict[str, dict[str, int]], dict[str, str]]:
    out = {}
    for queue in ws.task_queues.list():
        live = ws.task_queues(queue.sid).real_time_statistics().fetch()
        day = ws.task_queues(queue.sid).cumulative_statistics().fetch(start_date=midnight)
        out[queue.friendly_name] = {
            "waiting": live.tasks_by_status["pending"] + live.tasks_by_status["reserved"],
            "entered": day.tasks_entered, "answered": day.reservations_accepted,
            "abandoned": day.tasks_canceled,
        }  # fmt: skip
    workers = {w.sid: w.activity_name for w in ws.workers.list()}
    return out, workers


def differences(service_url: str, ws: Any, midnight: datetime) -> list[str]:
    truth, workers = theirs(ws, midnight)
    queues, activities = ours(service_url)
    out = []
    for name, figures in truth.items():
        mine = queues.get(name, {"waiting": 0, "today": {}})
        seen = {
            "waiting": mine["waiting"],
            **{k: mine["today"].get(k, 0) for k in ("entered", "answered", "abandoned")},
        }
        out += [f"{name}.{k}: ours {seen[k]}, TaskRouter {v}" for k, v in figures.items()
                if seen[k] != v]  # fmt: skip
    out += [f"worker {sid}: ours {activities.get(sid)}, TaskRouter {act}"
            for sid, act in workers.items() if activities.get(sid) != act]  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10, help="simulated minutes")
    parser.add_argument("--speed", type=float, default=10)
    parser.add_argument("--drop", type=float, default=0.01)
    parser.add_argument("--agents", type=int, default=24)
    parser.add_argument("--calls-per-minute", type=float, default=30)
    parser.add_argument("--reconcile-seconds", type=float, default=5)
    args = parser.parse_args()

    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    samples: list[list[str]] = []
    with redis_url() as redis:
        svc_port, sim_port = free_port(), free_port()
        svc_url, sim_url = f"http://127.0.0.1:{svc_port}", f"http://127.0.0.1:{sim_port}"
        env = {**os.environ, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}
        cmd = [sys.executable, "-m", "earpiece.cli", "sim", "--port", str(sim_port),
               "--callback-url", svc_url + "/twilio/conference-events", "--taskrouter",
               "--agents", str(args.agents), "--calls-per-minute", str(args.calls_per_minute),
               "--speed", str(args.speed), "--drop", str(args.drop), "--no-speech",
               "--seed", "5"]  # fmt: skip
        with process(cmd, env, sim_url, "/sim/state"):
            workspace = httpx.get(sim_url + "/sim/state").json()["taskrouter"]["workspace_sid"]
            every = str(args.reconcile_seconds)
            with callbacks_service(
                redis, "day" + uuid.uuid4().hex[:6], str(svc_port), TWILIO_API_BASE_URL=sim_url,
                TWILIO_WORKSPACE_SID=workspace, EARPIECE_RECONCILE_SECONDS=every,
            ) as service:  # fmt: skip
                settings = load({**env, "TWILIO_API_BASE_URL": sim_url}, env_file=None)
                ws = make_client(settings).taskrouter.v1.workspaces(workspace)
                until = time.monotonic() + args.minutes * 60 / args.speed
                while time.monotonic() < until:
                    passes = metric(service.url, 'earpiece_reconciler_runs_total{result="done"}')
                    deadline = time.monotonic() + args.reconcile_seconds * 3
                    while (metric(service.url, 'earpiece_reconciler_runs_total{result="done"}')
                           == passes and time.monotonic() < deadline):  # fmt: skip
                        time.sleep(0.1)
                    found = differences(service.url, ws, midnight)
                    if found:  # maybe only events in flight: look again once they landed
                        time.sleep(SETTLE_SECONDS)
                        found = differences(service.url, ws, midnight)
                    samples.append(found)
                repairs = metric(service.url, 'earpiece_reconciler_repairs_total{kind="taskrouter')
                state = httpx.get(sim_url + "/sim/state").json()
    wrong = [s for s in samples if s]
    print(
        f"a simulated TaskRouter day: {args.minutes:g} min at {args.speed:g}x, "
        f"{args.calls_per_minute:g} callers/min, {args.agents} agents, "
        f"{args.drop:.0%} of callbacks lost, reconciler every {args.reconcile_seconds:g} s"
    )
    print(
        f"  callbacks the simulator lost: {state['callbacks'].get('dropped', 0)}; "
        f"TaskRouter repairs the reconciler made: {repairs:.0f}"
    )
    print(f"  samples after a reconciler pass: {len(samples)}; equal to TaskRouter: "
          f"{len(samples) - len(wrong)} ({(len(samples) - len(wrong)) / max(1, len(samples)):.0%}; "
          "target 100%)")  # fmt: skip
    for found in wrong[:3]:
        print("   differs:", "; ".join(found[:4]))


if __name__ == "__main__":
    main()
