"""The `earpiece callbacks` process: settings errors, restarts, and a Redis that goes away."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.embedded_redis import EmbeddedRedis, _ping
from core.redis_client import RedisTarget
from earpiece.service import create_app
from tests.conftest import API_TOKEN, AUTH_TOKEN, DEMO_ROSTER, make_settings
from tests.helpers import Conference, ServerThread, post_signed, sid

PATH = "/twilio/conference-events"


@pytest.fixture
def data_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="ep-proc-", dir="/tmp"))
    yield folder
    EmbeddedRedis(folder).shutdown()
    shutil.rmtree(folder, ignore_errors=True)


def _env(data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(
        EARPIECE_DATA_DIR=str(data_dir),
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        EARPIECE_API_TOKEN=API_TOKEN,
        EARPIECE_ROSTER=DEMO_ROSTER,
        **extra,
    )
    return env


def _start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "earpiece.cli", "callbacks", "--port", str(port)],
        env=_env(data_dir, port),
        cwd=data_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(proc.communicate()[0].decode())


def _callbacks_with(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "earpiece.cli", "callbacks"],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def test_a_missing_setting_is_one_line_naming_it(data_dir: Path) -> None:
    env = _env(data_dir, 8000)
    del env["TWILIO_AUTH_TOKEN"]
    result = _callbacks_with(env, data_dir)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "TWILIO_AUTH_TOKEN" in lines[0]
    assert "Traceback" not in result.stderr


def test_a_malformed_setting_is_one_line_naming_it(data_dir: Path) -> None:
    result = _callbacks_with(_env(data_dir, 8000, EARPIECE_SSE_PING_SECONDS="often"), data_dir)
    assert result.returncode == 2
    expected = "earpiece: EARPIECE_SSE_PING_SECONDS must be a number, got 'often'"
    assert result.stderr.strip() == expected


def test_restart_keeps_the_live_floor(data_dir: Path) -> None:
    port = ServerThread.free_port()
    settings = make_settings("redis://unused", "ep", f"http://127.0.0.1:{port}")
    conf = Conference()
    agent = sid("CA")

    first = _start(data_dir, port)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
        for params in (
            conf.event("participant-join", sid("CA"), ParticipantLabel="customer"),
            conf.event("participant-join", agent, ParticipantLabel="agent:bob"),
        ):
            assert post_signed(http, settings, PATH, params).status_code == 204
    first.send_signal(signal.SIGTERM)
    assert first.wait(20) == 0
    # The last user of the embedded server shut it down on exit.
    assert not _ping(data_dir / "redis" / "redis.sock")

    second = _start(data_dir, port)
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {API_TOKEN}"}
        ) as http:
            floor = http.get("/api/conferences").json()["conferences"]
            assert [c["sid"] for c in floor] == [conf.sid]
            assert http.get(f"/api/calls/{agent}").json()["conference_sid"] == conf.sid
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)


def test_redis_down_is_503_and_the_service_recovers_by_itself(
    data_dir: Path, namespace: str
) -> None:
    redis_server = EmbeddedRedis(data_dir)
    url = redis_server.start()
    port = ServerThread.free_port()
    settings = make_settings(url, namespace, f"http://127.0.0.1:{port}")
    server = ServerThread(create_app(settings, RedisTarget(url, False, None)), port, settings)
    server.start()
    conf = Conference()
    try:
        with server.client(API_TOKEN) as http:
            join = conf.event("participant-join", sid("CA"), ParticipantLabel="customer")
            assert post_signed(http, settings, PATH, join).status_code == 204

            redis_server.shutdown()
            mute = conf.event("participant-join", sid("CA"), ParticipantLabel="agent:bob")
            down = post_signed(http, settings, PATH, mute)
            assert down.status_code == 503  # Twilio retries it
            assert down.headers["retry-after"] == "1"
            assert http.get("/healthz").status_code == 503
            assert http.get("/api/conferences").status_code == 503

            redis_server.start()  # same folder: the append-only file brings the data back
            deadline = time.monotonic() + 10
            while http.get("/healthz").status_code != 200:
                assert time.monotonic() < deadline, "the service did not recover"
                time.sleep(0.1)
            # Twilio's retry of the refused callback now lands.
            retried = post_signed(http, settings, PATH, mute)
            assert retried.headers["x-earpiece-outcome"] == "applied"
            [live] = http.get("/api/conferences").json()["conferences"]
            assert live["state"] == "talking"
    finally:
        server.stop()
        redis_server.release()
