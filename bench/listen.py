"""Listening in the browser (issue 26), one run, side by side with a bare WebSocket relay.

Three processes on loopback and an embedded Redis: the Twilio simulator (its own process,
every media frame stamped with the wall-clock time it was made: bench/listen_sim.py), one
callback service, and the baseline (bench/bare_ws_app.py: the same two WebSockets with no
signature, ticket, rules, audit or Redis). The listeners are protocol-level browser
sockets in this process (the frames a page's component receives; Web Audio's own output
buffer, ~10-40 ms in chromium, comes on top and is not measured here).

1. Click -> first audio: for each of N calls, from the ticket request (the click) to the
   first frame on the socket, the call's Media Stream started on that click (SDK ->
   simulator -> Twilio's WebSocket to the service -> Redis -> the socket). p50 / p95.
2. Frame latency at N listeners, each hearing its own call, for S seconds: made at the
   simulator -> received by the listener. p50 / p95 / p99, frames lost.
3. Cost per listener, the same N streams then relayed by the bare app: CPU of the
   relaying process (cores), bytes to the listener, and for Earpiece Redis's publishes and
   network bytes, per listener.

    python -m bench.listen [--listeners 30] [--seconds 20]

Targets (issue 26): click -> first audio p95 < 1.5 s; frame latency p95 < 300 ms at 30.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import struct
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from bench.common import (
    API_TOKEN,
    Service,
    callbacks_service,
    free_port,
    percentile,
    personal_key,
    process,
    redis_url,
)
from core.redis_client import RedisTarget, sync_client

AGENTS = ["tara", "uma", "vic", "wes", "xena", "yuri", "bob", "carol", "dave", "erin", "frank",
          "grace", "heidi", "ivan", "judy", "kim", "leo", "maya", "nick", "olga", "pete",
          "quinn", "rosa", "sam"]  # fmt: skip
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


@dataclass
class Listener:
    sid: str
    latencies: list[float] = field(default_factory=list)
    frames: int = 0
    bytes: int = 0
    first_at: float | None = None


@contextlib.contextmanager
def simulator(callback: str) -> Iterator[Service]:
    port = free_port()
    cmd = [sys.executable, "-m", "bench.listen_sim", "--port", str(port), "--callback", callback]
    with process(cmd, dict(os.environ), f"http://127.0.0.1:{port}", "/sim/state") as sim:
        yield sim


def new_calls(sim: str, service: str, count: int) -> list[dict[str, str]]:
    calls = []
    with httpx.Client(timeout=10) as http:
        for n in range(count):
            answer = http.post(sim + "/sim/calls", json={"agent": AGENTS[n % len(AGENTS)]})
            answer.raise_for_status()
            calls.append(answer.json())
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        deadline = time.monotonic() + 30
        for call in calls:
            while True:
                got = http.get(f"{service}/api/conferences/{call['conference_sid']}",
                               headers=headers)  # fmt: skip
                if got.status_code == 200 and got.json().get("state") == "talking":
                    break
                if time.monotonic() > deadline:
                    raise SystemExit("the calls did not start")
                time.sleep(0.05)
    return calls


async def hear(url: str, listener: Listener, until: asyncio.Event, clicked: float) -> None:
    async with connect(url, max_size=2**16, compression=None) as socket:
        async for message in socket:
            if until.is_set():
                return
            if isinstance(message, str):
                continue
            now = time.time()
            if listener.first_at is None:
                listener.first_at = time.monotonic() - clicked
            listener.bytes += len(message)
            at = 0
            while at + 3 <= len(message):  # frames: kind, length (2 bytes), μ-law
                length = int.from_bytes(message[at + 1 : at + 3], "big")
                if length >= 8:
                    listener.frames += 1
                    stamp = struct.unpack("<d", message[at + 3 : at + 11])[0]
                    listener.latencies.append(now - stamp)
                at += 3 + length


async def measure(
    listeners: list[Listener], tasks: list[asyncio.Task[None]], seconds: float, pid: int
) -> tuple[float, float]:
    """Reset the counters, wait `seconds`; (cores of `pid`, seconds measured)."""
    await asyncio.sleep(1.0)  # settle
    for listener in listeners:
        listener.latencies.clear()
        listener.frames = listener.bytes = 0
    cpu, began = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - began
    return (cpu_seconds(pid) - cpu) / elapsed, elapsed


async def earpiece_run(service: Service, sim: str, calls: list[dict[str, str]], key: str,
                       seconds: float, redis: str) -> dict[str, float]:  # fmt: skip
    base = service.url.replace("http://", "ws://")
    until = asyncio.Event()
    listeners, tasks, clicks = [], [], []
    async with httpx.AsyncClient(timeout=10, headers={"Authorization": f"Bearer {key}"}) as http:
        for call in calls:
            listener = Listener(call["conference_sid"])
            clicked = time.monotonic()
            answer = await http.post(f"{service.url}/api/conferences/{listener.sid}/listen")
            answer.raise_for_status()
            task = asyncio.create_task(hear(base + answer.json()["url"], listener, until, clicked))
            while listener.first_at is None and not task.done():  # noqa: ASYNC110 - a poll
                await asyncio.sleep(0.005)
            clicks.append(listener.first_at or float("nan"))
            listeners.append(listener)
            tasks.append(task)
    client = sync_client(RedisTarget(redis, False, None))
    before = client.info("all")
    cores, elapsed = await measure(listeners, tasks, seconds, service.process.pid)
    after = client.info("all")
    client.close()
    until.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    n = len(listeners)
    publishes = (after.get("cmdstat_publish", {}).get("calls", 0)
                 - before.get("cmdstat_publish", {}).get("calls", 0))  # fmt: skip
    net = (after["total_net_input_bytes"] + after["total_net_output_bytes"]
           - before["total_net_input_bytes"] - before["total_net_output_bytes"])  # fmt: skip
    return summary(listeners, clicks, cores, elapsed) | {
        "redis_publishes_per_listener_s": publishes / elapsed / n,
        "redis_net_kb_per_listener_s": net / 1024 / elapsed / n,
    }


async def bare_run(bare: Service, sim: str, calls: list[dict[str, str]],
                   seconds: float) -> dict[str, float]:  # fmt: skip
    from bench.common import AUTH_TOKEN
    from core.settings import load
    from core.twilio_client import make_client

    client = make_client(load({"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN":
                               AUTH_TOKEN, "TWILIO_API_BASE_URL": sim}, env_file=None))  # fmt: skip
    base = bare.url.replace("http://", "ws://")
    until = asyncio.Event()
    listeners, tasks, clicks, streams = [], [], [], []
    for call in calls:
        listener = Listener(call["conference_sid"])
        clicked = time.monotonic()
        task = asyncio.create_task(
            hear(f"{base}/listen/audio?sid={listener.sid}", listener, until, clicked)
        )
        await asyncio.sleep(0.02)
        made = await asyncio.to_thread(
            client.calls(call["customer_call_sid"]).streams.create,
            url=f"{base}/twilio/media-stream", track="both_tracks",
            parameter1_name="conference", parameter1_value=listener.sid,
        )  # fmt: skip
        streams.append((call["customer_call_sid"], made.sid))
        while listener.first_at is None and not task.done():  # noqa: ASYNC110 - a poll
            await asyncio.sleep(0.005)
        clicks.append(listener.first_at or float("nan"))
        listeners.append(listener)
        tasks.append(task)
    cores, elapsed = await measure(listeners, tasks, seconds, bare.process.pid)
    until.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for call_sid, stream_sid in streams:
        await asyncio.to_thread(client.calls(call_sid).streams(stream_sid).update,
                                status="stopped")  # fmt: skip
    return summary(listeners, clicks, cores, elapsed)


def summary(listeners: list[Listener], clicks: list[float], cores: float,
            elapsed: float) -> dict[str, float]:  # fmt: skip
    latencies = [x for listener in listeners for x in listener.latencies]
    n = len(listeners)
    expected = elapsed * 100 * n  # both tracks, 50 frames a second each
    return {
        "click_p50_ms": percentile(clicks, 50) * 1000,
        "click_p95_ms": percentile(clicks, 95) * 1000,
        "frame_p50_ms": percentile(latencies, 50) * 1000,
        "frame_p95_ms": percentile(latencies, 95) * 1000,
        "frame_p99_ms": percentile(latencies, 99) * 1000,
        "frames_lost_pct": max(0.0, 100 * (1 - sum(x.frames for x in listeners) / expected)),
        "cores": cores,
        "cores_per_listener": cores / n,
        "kb_per_listener_s": sum(x.bytes for x in listeners) / 1024 / elapsed / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listeners", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    namespace = "bl" + uuid.uuid4().hex[:8]
    with redis_url() as redis:
        port = str(free_port())
        callback = f"http://127.0.0.1:{port}/twilio/conference-events"
        with simulator(callback) as sim, callbacks_service(
            redis, namespace, port, TWILIO_API_BASE_URL=sim.url,
            EARPIECE_LISTEN_GRACE_SECONDS="1",
        ) as service, bare_service_ws() as bare:  # fmt: skip
            key = personal_key(redis, namespace, "mina")
            calls = new_calls(sim.url, service.url, args.listeners)
            ours = asyncio.run(earpiece_run(service, sim.url, calls, key, args.seconds, redis))
            time.sleep(3)  # the grace period: Earpiece's streams stop at the simulator
            bare_numbers = asyncio.run(bare_run(bare, sim.url, calls, args.seconds))
    print(f"listen: {args.listeners} listeners, each hearing its own call, {args.seconds:.0f} s")
    print(f"{'':34}{'earpiece':>12}{'bare relay':>12}")
    rows = [
        ("click -> first frame p50 (ms)", "click_p50_ms"),
        ("click -> first frame p95 (ms)", "click_p95_ms"),
        ("frame sim -> socket p50 (ms)", "frame_p50_ms"),
        ("frame sim -> socket p95 (ms)", "frame_p95_ms"),
        ("frame sim -> socket p99 (ms)", "frame_p99_ms"),
        ("frames lost (%)", "frames_lost_pct"),
        ("relaying process (cores)", "cores"),
        ("per listener (cores)", "cores_per_listener"),
        ("per listener (KiB/s to socket)", "kb_per_listener_s"),
    ]
    for label, name in rows:
        print(f"{label:34}{ours[name]:>12.3f}{bare_numbers[name]:>12.3f}")
    print(f"{'Redis publishes / listener / s':34}{ours['redis_publishes_per_listener_s']:>12.1f}"
          f"{'-':>12}")  # fmt: skip
    print(f"{'Redis net KiB / listener / s':34}{ours['redis_net_kb_per_listener_s']:>12.1f}"
          f"{'-':>12}")  # fmt: skip
    print("bare relay: the click is the stream's create (no ticket); Earpiece's includes the"
          " ticket, the checks and starting the stream")  # fmt: skip


@contextlib.contextmanager
def bare_service_ws() -> Iterator[Service]:
    port = free_port()
    cmd = [
        sys.executable, "-m", "uvicorn", "bench.bare_ws_app:app", "--port", str(port),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    with process(cmd, dict(os.environ), f"http://127.0.0.1:{port}", "/ready") as service:
        yield service


if __name__ == "__main__":
    main()
