"""A big simulated floor end to end: 1,000 live conferences with speech events on.

Starts the callback service and the Twilio simulator (prefilled with N talking
calls and enough arrivals to keep about N live), lets it run, then prints the
callbacks the simulator sent, delivered and the service applied (none may be
lost when loss is off), the live conferences both sides see, and each
process's CPU.

    python -m bench.sim_floor [--conferences 1000] [--seconds 60]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.common import (
    API_TOKEN,
    AUTH_TOKEN,
    Service,
    callbacks_service,
    free_port,
    redis_url,
)  # fmt: skip
from core.twilio_client import CONNECTION_OVERRIDES

ACCOUNT_SID = "AC" + "0" * 32
MEAN_TALK_SECONDS = 200.0  # the traffic generator's talk time averages about this


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def simulator(
    callbacks_url: str, conferences: int, speech: bool = True, port: int | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = port or free_port()
    env = {**os.environ, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}
    per_minute = conferences / MEAN_TALK_SECONDS * 60
    # A file, not a pipe: an unread pipe that fills up blocks the simulator.
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen(
        [sys.executable, "-m", "earpiece.cli", "sim", "--port", str(port),
         # As Earpiece's TwiML asks Twilio for every conference: with connection overrides.
         "--callback-url", callbacks_url + "/twilio/conference-events" + CONNECTION_OVERRIDES,
         "--agents", str(int(conferences * 1.2)), "--prefill", str(conferences),
         "--calls-per-minute", f"{per_minute:.0f}", "--seed", "1",
         *([] if speech else ["--no-speech"])],
        env=env, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/sim/state", timeout=5).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the simulator did not start") from None
                time.sleep(0.2)
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


@dataclass
class SimulatedFloor:
    redis_url: str
    namespace: str
    service: Service
    sim_url: str


@contextlib.contextmanager
def simulated_floor(
    prefix: str, conferences: int, speech: bool = True, **service_env: str
) -> Iterator[SimulatedFloor]:
    """Redis, the callback service and a simulator with about `conferences` live calls,
    pointed at each other (the service reads customers' numbers from the simulator)."""
    namespace = prefix + uuid.uuid4().hex[:6]
    sim_port = free_port()
    sim_url = f"http://127.0.0.1:{sim_port}"
    with (
        redis_url() as redis,
        callbacks_service(
            redis, namespace, TWILIO_API_BASE_URL=sim_url, settings=service_env
        ) as service,
        simulator(service.url, conferences, speech=speech, port=sim_port),
    ):
        yield SimulatedFloor(redis, namespace, service, sim_url)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conferences", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()

    namespace = "bench" + uuid.uuid4().hex[:6]
    with (
        redis_url() as redis,
        callbacks_service(redis, namespace) as service,
        simulator(service.url, args.conferences) as (sim_url, sim),
    ):
        time.sleep(3)  # the prefill's joins settle
        sim_cpu, svc_cpu = cpu_seconds(sim.pid), cpu_seconds(service.process.pid)
        before = httpx.get(sim_url + "/sim/state", timeout=30).json()["callbacks"]
        started = time.monotonic()
        time.sleep(args.seconds)
        elapsed = time.monotonic() - started
        sim_cpu = (cpu_seconds(sim.pid) - sim_cpu) / elapsed
        svc_cpu = (cpu_seconds(service.process.pid) - svc_cpu) / elapsed
        # Settle: let every queued callback reach the service, then compare.
        deadline = time.monotonic() + 30
        while True:
            state = httpx.get(sim_url + "/sim/state", timeout=30).json()
            if state["callbacks"]["pending"] == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        # The floor keeps moving: a conference counts as a disagreement only if
        # the simulator says the same about it before and after Earpiece's read.
        floor = httpx.get(service.url + "/api/conferences", timeout=30,
                          headers={"Authorization": f"Bearer {API_TOKEN}"}).json()  # fmt: skip
        time.sleep(0.5)  # callbacks of changes made during the read arrive
        after = httpx.get(sim_url + "/sim/state", timeout=30).json()

    stats = state["callbacks"]
    outcomes = stats.get("outcomes", {})
    live_before = {c["sid"] for c in state["conferences"] if c["status"] != "completed"}
    live_after = {c["sid"] for c in after["conferences"] if c["status"] != "completed"}
    ours = {c["sid"] for c in floor["conferences"]}
    missing = (live_before & live_after) - ours
    extra = ours - live_before - live_after
    sim_live = len(live_before)
    rate = (stats["sent"] - before["sent"]) / elapsed
    print(f"simulated floor: {args.conferences} conferences prefilled, speech on, {elapsed:.0f}s")
    print(f"callbacks: {rate:.0f}/s during the run; since start: sent {stats['sent']}, "
          f"delivered {stats.get('delivered', 0)}, dropped {stats.get('dropped', 0)}, "
          f"failed {stats.get('failed', 0)}, retried {stats.get('retried', 0)}")  # fmt: skip
    print(f"applied by the service: applied {outcomes.get('applied', 0)}, unchanged "
          f"{outcomes.get('unchanged', 0)}, duplicate {outcomes.get('duplicate', 0)}, "
          f"stale {outcomes.get('stale', 0)}  (sum {sum(outcomes.values())})")  # fmt: skip
    print(f"live conferences: simulator {sim_live}, earpiece {len(ours)}; "
          f"missing from earpiece {len(missing)}, ended but shown {len(extra)}")  # fmt: skip
    print(f"CPU: simulator {sim_cpu:.0%} of a core, callback service {svc_cpu:.0%} of a core")
    lost = stats["sent"] - stats.get("delivered", 0) - stats.get("dropped", 0)
    if lost or stats.get("failed") or sum(outcomes.values()) != stats.get("delivered", 0):
        sys.exit(f"callbacks lost: {lost}, failed: {stats.get('failed', 0)}")
    if missing or extra:
        sys.exit("the floors differ")


if __name__ == "__main__":
    main()
