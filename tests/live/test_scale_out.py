"""Several callback-service processes on one Redis end exactly where one process would.

Three real `earpiece callbacks` processes (and one with `--workers 2`) share a
Redis and a namespace; the callbacks of many conferences, shuffled and with
duplicates, are spread over them concurrently. The floor they build must
equal the floor one process builds from the same events in order.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from core import processes
from core.redis_client import RedisTarget, async_client
from live.events import parse_conference_event
from live.roster import load as load_roster
from live.store import LiveFloor, now_ms
from tests.conftest import ACCOUNT_SID, API_TOKEN, AUTH_TOKEN, DEMO_ROSTER, make_settings
from tests.helpers import Conference, ServerThread, order_free, post_signed, sid

# The floors are rendered at one instant (an hour from now), the same for every process.
NOW_MS = now_ms() + 3600_000


def story(rng: random.Random) -> list[dict[str, str]]:
    conf = Conference()
    customer, agent = sid("CA"), sid("CA")
    events = [
        conf.event("participant-join", customer, ParticipantLabel="customer"),
        conf.event("conference-start"),
        conf.event("participant-join", agent, ParticipantLabel="agent:bob"),
    ]
    for _ in range(rng.randrange(2, 8)):
        who, label = rng.choice([(customer, "customer"), (agent, "agent:bob")])
        kind = rng.choice(["speech-start", "speech-stop", "hold", "unhold", "mute", "unmute"])
        flags = {"Hold": kind == "hold", "Muted": kind == "mute"}
        events.append(conf.event(f"participant-{kind}", who, ParticipantLabel=label, **flags))
    if rng.random() < 0.3:
        events.append(conf.event("conference-end"))
    return events


def _start(
    redis_url: str, namespace: str, port: int, folder: Path, *extra: str
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EARPIECE_", "TWILIO_"))}
    env.update(
        REDIS_URL=redis_url, EARPIECE_NAMESPACE=namespace, TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        EARPIECE_API_TOKEN=API_TOKEN, EARPIECE_ROSTER=DEMO_ROSTER,
    )  # fmt: skip
    log = open(folder / f"{port}.log", "wb")  # noqa: SIM115 - the child holds it
    return subprocess.Popen(
        [sys.executable, "-m", "earpiece.cli", "callbacks", "--port", str(port), *extra],
        env=env, cwd=folder, stdout=log, stderr=log,
    )  # fmt: skip


def _ready(port: int) -> None:
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"the service on {port} did not start")


@pytest.fixture
def services(
    redis_target: RedisTarget, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[str, list[int]]]:
    namespace = "s" + uuid.uuid4().hex[:10]
    layout = request.param
    ports = [ServerThread.free_port() for _ in layout]
    procs = [
        _start(redis_target.url, namespace, p, tmp_path, *args)
        for p, args in zip(ports, layout, strict=True)
    ]
    try:
        for port in ports:
            _ready(port)
        yield namespace, ports
    finally:
        _stop(procs)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _ordered_floor(
    target: RedisTarget, stories: list[list[dict[str, str]]]
) -> dict[str, Any]:
    redis = async_client(target)
    floor = LiveFloor(redis, namespace="o" + uuid.uuid4().hex[:10], roster=load_roster(None))
    for events in stories:
        for params in events:
            # Dated as the services date them: these callbacks arrive long after their second.
            await floor.apply(parse_conference_event(params, now_ms()))
    out = await _read(floor, stories)
    await redis.aclose()
    return out


async def _read(floor: LiveFloor, stories: list[list[dict[str, str]]]) -> dict[str, Any]:
    docs = {}
    for events in stories:
        doc = await floor.document(events[0]["ConferenceSid"])
        assert doc is not None
        docs[doc["sid"]] = order_free(floor.render(doc, NOW_MS))
    return {"conferences": docs, "live": sorted(await floor.live_sids())}


@pytest.mark.parametrize(
    "services",
    [
        pytest.param([(), (), ()], id="three-processes"),
        pytest.param([("--workers", "2")], id="two-workers"),
    ],
    indirect=True,
)
def test_many_processes_reach_the_state_of_one(
    services: tuple[str, list[int]], redis_target: RedisTarget
) -> None:
    namespace, ports = services
    rng = random.Random(11)
    stories = [story(rng) for _ in range(40)]
    deliveries = [params for events in stories for params in events]
    deliveries += rng.sample(deliveries, len(deliveries) // 4)  # Twilio's retries
    rng.shuffle(deliveries)

    settings = [make_settings(redis_target.url, namespace, f"http://127.0.0.1:{p}") for p in ports]
    clients = [httpx.Client(base_url=f"http://127.0.0.1:{p}") for p in ports]

    def deliver(i: int) -> int:
        k = i % len(ports)
        return post_signed(
            clients[k], settings[k], "/twilio/conference-events", deliveries[i]
        ).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(deliver, range(len(deliveries))))
    for client in clients:
        client.close()
    assert set(statuses) == {204}

    async def shared() -> dict[str, Any]:
        redis = async_client(redis_target)
        floor = LiveFloor(redis, namespace=namespace, roster=load_roster(None))
        out = await _read(floor, stories)
        await redis.aclose()
        return out

    assert asyncio.run(shared()) == asyncio.run(_ordered_floor(redis_target, stories))


def _workers(parent: int) -> list[int]:
    """The worker processes uvicorn's supervisor started (its spawned children; not
    multiprocessing's resource tracker)."""
    return sorted(
        child
        for child in processes.children_of(parent)
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    )


def _log(folder: Path, port: int) -> str:
    return (folder / f"{port}.log").read_text(errors="replace")


def test_a_worker_starved_for_seconds_is_not_killed(
    redis_target: RedisTarget, tmp_path: Path
) -> None:
    """A worker that cannot answer the supervisor's ping for longer than uvicorn's default
    5 s (here: stopped for 7 s, as a CPU-starved one would be) is not SIGKILLed with the
    callbacks it holds; it answers again once it runs."""
    port = ServerThread.free_port()
    proc = _start(redis_target.url, "w" + uuid.uuid4().hex[:10], port, tmp_path, "--workers", "2")
    try:
        _ready(port)
        deadline = time.monotonic() + 30
        while len(workers := _workers(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(workers) == 2, (workers, _log(tmp_path, port))
        frozen = workers[0]
        os.kill(frozen, signal.SIGSTOP)
        try:
            time.sleep(7)
        finally:
            os.kill(frozen, signal.SIGCONT)
        time.sleep(1.5)  # three more pings of the supervisor
        log = _log(tmp_path, port)
        assert _workers(proc.pid) == workers, log
        assert "died" not in log, log
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        _stop([proc])
