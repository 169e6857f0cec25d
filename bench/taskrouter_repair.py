"""What TaskRouter repair costs on a 300-seat floor after an empty Redis (issue 21).

The simulator runs a Workspace of 300 Workers (`earpiece sim --taskrouter
--no-traffic` with a roster of 300 agents in 10 teams and 5 queues: every
agent a Worker named as the roster names them) whose events all go nowhere,
and a caller for each Worker, most of them taken. Then TaskRouter
repair passes run against an empty Redis until one finds nothing to repair:
first with the cap a pass has (READS_PER_PASS), then without one, side by
side: requests each pass sent to TaskRouter, its seconds, and the busy tasks
Redis knows the agent of after it. Last, a pass on the repaired floor (what
every pass costs while events arrive).

    python -m bench.taskrouter_repair [--seats 300] [--cap 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from bench.common import AUTH_TOKEN, free_port, process, redis_url
from bench.sim_floor import ACCOUNT_SID
from coach.taskrouter_repair import READS_PER_PASS, TaskRouterRepair
from core.redis_client import RedisTarget, async_client
from core.settings import load
from core.twilio_calls import TwilioCalls
from core.twilio_client import make_client
from live.queues import LiveQueues, QueuePolicy
from live.roster import load as load_roster


def roster_file(folder: Path, seats: int) -> Path:
    """A roster of `seats` agents: 10 teams, two to a queue."""
    lines = []
    for team in range(10):
        agents = [f'"a{n:03d}"' for n in range(seats) if n % 10 == team]
        lines += [f"[teams.t{team}]", f'queue = "q{team // 2}"', f"agents = [{', '.join(agents)}]"]
    path = folder / "roster.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def passes(
    redis: str, sim_url: str, workspace: str, cap: int, roster: Path
) -> list[tuple[int, float, int, int]]:
    """(requests, seconds, workers Redis knows hold a task, reads deferred) of each pass
    until one repairs nothing, then one more pass on the repaired floor."""
    client = async_client(RedisTarget(redis, False, None))
    try:
        policy = QueuePolicy(ZoneInfo("Asia/Tokyo"))
        queues = LiveQueues(client, namespace="rb" + uuid.uuid4().hex[:8],
                            roster=load_roster(roster), policy=policy)  # fmt: skip
        settings = load({"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                         "TWILIO_API_BASE_URL": sim_url}, env_file=None)  # fmt: skip
        twilio = TwilioCalls(make_client(settings))
        repair = TaskRouterRepair(queues, twilio, workspace, link=queues.link, reads_per_pass=cap)
        out: list[tuple[int, float, int, int]] = []
        quiet = 0
        while quiet < 2 and len(out) < 30:
            before, started = twilio.requests, time.perf_counter()
            repairs = await repair.run_once()
            seconds = time.perf_counter() - started
            agents = await queues.agents()
            known = sum(1 for a in agents if a["task_sid"] and a["agent"])
            out.append((twilio.requests - before, seconds, known, repair.deferred))
            quiet = quiet + 1 if not repairs else 0
        return out
    finally:
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seats", type=int, default=300)
    parser.add_argument("--cap", type=int, default=READS_PER_PASS)
    args = parser.parse_args()
    with redis_url() as redis, tempfile.TemporaryDirectory(prefix="ep-bench-") as folder:
        roster = roster_file(Path(folder), args.seats)
        sim_port = free_port()
        sim_url = f"http://127.0.0.1:{sim_port}"
        env = {**os.environ, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
               "EARPIECE_ROSTER": str(roster)}  # fmt: skip
        nowhere = "http://127.0.0.1:9/twilio/conference-events"  # every callback is lost
        cmd = [sys.executable, "-m", "earpiece.cli", "sim", "--port", str(sim_port),
               "--callback-url", nowhere, "--taskrouter", "--no-traffic",
               "--agents", str(args.seats), "--seed", "5"]  # fmt: skip
        with process(cmd, env, sim_url, "/sim/state"):
            state = httpx.get(sim_url + "/sim/state").json()["taskrouter"]
            teams = load_roster(roster).teams.values()
            with httpx.Client(base_url=sim_url, timeout=30) as http:
                for team in teams:
                    for _ in team.agents:  # a caller for each of the queue's workers
                        http.post("/sim/calls", json={"queue": team.queue})
                deadline = time.monotonic() + 120
                busy = 0
                while time.monotonic() < deadline:
                    tasks = http.get("/sim/state").json()["taskrouter"]["tasks"].values()
                    now_busy = sum(1 for t in tasks if t["status"] == "assigned")
                    if now_busy == busy and busy > 0:
                        break  # routing has settled
                    busy = now_busy
                    time.sleep(1.0)
            workspace = state["workspace_sid"]
            capped = asyncio.run(passes(redis, sim_url, workspace, args.cap, roster))
            uncapped = asyncio.run(passes(redis, sim_url, workspace, 10**6, roster))
    print(f"TaskRouter repair after an empty Redis: {len(state['workers'])} workers, "
          f"{busy} busy tasks, {args.seats - busy} callers waiting, every event lost")  # fmt: skip
    print(f"{'pass':>4}  {'cap ' + str(args.cap):>36}  {'no cap':>36}")
    header = "requests  seconds  workers on a task"
    print(f"{'':>4}  {header:>36}  {header:>36}")
    for i in range(max(len(capped), len(uncapped))):
        cells = []
        for run in (capped, uncapped):
            if i < len(run):
                sent, seconds, known, _ = run[i]
                cells.append(f"{sent:>8}  {seconds:>7.2f}  {known:>17}")
            else:
                cells.append("")
        print(f"{i + 1:>4}  {cells[0]:>36}  {cells[1]:>36}")
    total = [sum(r[0] for r in run) for run in (capped, uncapped)]
    print(
        f"requests in all: {total[0]} (cap {args.cap}) and {total[1]} (no cap); the last "
        f"rows are passes on the repaired floor (what a pass costs while events arrive)"
    )


if __name__ == "__main__":
    main()
