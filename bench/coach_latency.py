"""Supervisor actions against the Twilio simulator: how fast a click reaches Twilio.

Measures, with 100 supervisors on 100 calls:
- join: from the API call to the moment the simulator handled Twilio's
  participant create (target < 100 ms p95);
- mode switch: from the API call to the simulator's participant update, and
  the whole round trip of the PATCH (target < 200 ms p95);
side by side with a bare GET /healthz round trip of the same service.

    python -m bench.coach_latency [--supervisors 100] [--switches 300]
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
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    API_TOKEN,
    AUTH_TOKEN,
    callbacks_service,
    free_port,
    percentile,
    personal_key,
    redis_url,
)

ACCOUNT_SID = "AC" + "0" * 32


def roster(count: int) -> str:
    agents = ", ".join(f'"a{i}"' for i in range(count))
    lines = ["[teams.floor]", 'queue = "all"', f"agents = [{agents}]", ""]
    for i in range(count):
        lines += [f"[supervisors.s{i}]", 'role = "manager"', f'endpoint = "client:s{i}"', ""]
    return "\n".join(lines)


@contextlib.contextmanager
def simulator(callbacks_url: str) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}
    proc = subprocess.Popen(
        [sys.executable, "-m", "earpiece.cli", "sim", "--port", str(port), "--no-traffic",
         "--callback-url", callbacks_url + "/twilio/conference-events"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(url + "/sim/state").raise_for_status()
                break
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


def legs(sim: str) -> dict[str, dict[str, Any]]:
    state = httpx.get(sim + "/sim/state", timeout=30).json()
    return {p["call_sid"]: p for c in state["conferences"] for p in c["participants"]}


def wait_connected(api: httpx.Client, sid: str, who: str) -> None:
    for _ in range(200):
        monitors = api.get(f"/api/conferences/{sid}").json()["monitors"]
        if any(m["supervisor"] == who and m["status"] == "connected" for m in monitors):
            return
        time.sleep(0.02)
    raise SystemExit(f"{who} never connected")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--supervisors", type=int, default=100)
    parser.add_argument("--switches", type=int, default=300)
    args = parser.parse_args()
    n = args.supervisors

    namespace = "bench" + uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory() as folder:
        roster_path = Path(folder) / "roster.toml"
        roster_path.write_text(roster(n))
        port = free_port()
        with (
            redis_url() as redis,
            simulator(f"http://127.0.0.1:{port}") as sim,
            callbacks_service(
                redis, namespace, port=str(port),
                EARPIECE_ROSTER=str(roster_path),
                TWILIO_API_BASE_URL=sim,
            ) as service,
            httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {API_TOKEN}"})
            as api,
            httpx.Client(base_url=sim) as control,
        ):  # fmt: skip
            calls = [control.post("/sim/calls", json={"agent": f"a{i}"}).json() for i in range(n)]
            # Each supervisor acts with their own key (the service token only reads).
            keys = {i: {"Authorization": "Bearer " + personal_key(redis, namespace, f"s{i}",
                                                                 roster_path)}
                    for i in range(n)}  # fmt: skip
            time.sleep(1.0)  # their joins reach Earpiece
            baseline, join_sent, join_total = [], [], []
            started: dict[str, float] = {}
            for i, call in enumerate(calls):
                t0 = time.time()
                api.get("/healthz")
                baseline.append((time.time() - t0) * 1000)
                t0 = time.time()
                response = api.post(f"/api/conferences/{call['conference_sid']}/monitors",
                                    json={"mode": "listen"}, headers=keys[i])  # fmt: skip
                join_total.append((time.time() - t0) * 1000)
                response.raise_for_status()
                started[response.json()["call_sid"]] = t0
            created = legs(sim)
            join_sent = [(created[c]["created_ms"] - t0 * 1000) for c, t0 in started.items()]
            for i, call in enumerate(calls):
                wait_connected(api, call["conference_sid"], f"s{i}")

            modes = ["whisper", "barge", "listen"]
            switch_sent, switch_total = [], []
            leg_of = {i: c for i, c in enumerate(started)}
            for k in range(args.switches):
                i = k % n
                call, leg = calls[i], leg_of[i]
                t0 = time.time()
                path = f"/api/conferences/{call['conference_sid']}/monitors/s{i}"
                response = api.patch(path, json={"mode": modes[(k // n) % 3]}, headers=keys[i])
                switch_total.append((time.time() - t0) * 1000)
                response.raise_for_status()
                switch_sent.append(
                    legs_one(sim, call["conference_sid"], leg)["updated_ms"] - t0 * 1000
                )

    def row(name: str, values: list[float]) -> str:
        p50, p95 = percentile(values, 50), percentile(values, 95)
        return f"{name:<46}{p50:>9.1f}{p95:>9.1f}{len(values):>7}"

    print(f"coach against the simulator: {n} supervisors on {n} calls, one uvicorn worker")
    print(f"{'':<46}{'p50 ms':>9}{'p95 ms':>9}{'n':>7}")
    print(row("GET /healthz round trip (baseline)", baseline))
    print(row("join: API call -> Twilio create handled", join_sent))
    print(row("join: whole POST (create + read back)", join_total))
    print(row("switch: API call -> Twilio update handled", switch_sent))
    print(row("switch: whole PATCH round trip", switch_total))
    print(f"targets: API -> Twilio p95 < 100 ms (join {percentile(join_sent, 95):.0f}, switch "
          f"{percentile(switch_sent, 95):.0f}); switch round trip p95 < 200 ms "
          f"({percentile(switch_total, 95):.0f})")  # fmt: skip


def legs_one(sim: str, sid: str, call_sid: str) -> dict[str, Any]:
    state = httpx.get(f"{sim}/sim/state", timeout=30).json()
    for c in state["conferences"]:
        if c["sid"] == sid:
            for p in c["participants"]:
                if p["call_sid"] == call_sid:
                    found: dict[str, Any] = p
                    return found
    raise SystemExit(f"leg {call_sid} not found")


if __name__ == "__main__":
    main()
