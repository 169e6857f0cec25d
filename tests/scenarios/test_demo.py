"""`earpiece demo` as a user runs it: it starts on embedded defaults, shows a live floor,
and Ctrl-C leaves no process, socket or port behind."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.embedded_redis import _ping
from tests.helpers import machine_lock, start_demo


@pytest.fixture
def alone() -> Iterator[None]:
    """No other demo of the machine starts while this one runs and stops: the ports it frees
    must stay free (another worker's demo started meanwhile would take 8000 again)."""
    with machine_lock("demo"):
        yield


def _nothing_listens(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
        return False


def test_demo_runs_a_live_floor_and_stops_cleanly(alone: None) -> None:
    folder = Path(tempfile.mkdtemp(prefix="ep-demo-", dir="/tmp"))
    demo, text = start_demo(folder, "--agents", "4", "--calls-per-minute", "30")
    try:
        token = re.search(r"Service token\s+(\S+)", text)
        floor = re.search(r"Live floor \(JSON\)\s+(\S+)", text)
        dashboard = re.search(r"Dashboard\s+(http://127\.0\.0\.1:\d+)/\?signin=\S+", text)
        assert token and floor and dashboard, text
        # Which clock the floor reads its times in, and how a Tokyo floor reads its own (a
        # trial found the demo on UTC with nothing saying so).
        clock = re.search(r"Floor clock\s+(\S+)(.*)", text)
        assert clock, text
        assert clock.group(1) != "UTC" or "EARPIECE_TIMEZONE=Asia/Tokyo" in clock.group(2)
        assert httpx.get(dashboard.group(1) + "/_stcore/health").status_code == 200
        headers = {"Authorization": f"Bearer {token.group(1)}"}
        deadline = time.monotonic() + 15
        live: list[dict[str, object]] = []
        while not live and time.monotonic() < deadline:
            live = httpx.get(floor.group(1), headers=headers).json()["conferences"]
            time.sleep(0.2)
        assert live, "the demo floor stayed empty"
        assert {c["state"] for c in live} <= {"waiting", "talking", "hold"}
        # The service follows the simulated Workspace: the agents' controls are offered.
        base = floor.group(1).removesuffix("/api/conferences")
        activities = httpx.get(base + "/api/activities", headers=headers).json()
        assert activities["taskrouter"] is True, activities
        assert "Break" in {a["name"] for a in activities["activities"]}
        ports = [int(p) for p in re.findall(r"http://127\.0\.0\.1:(\d+)", text)]
    finally:
        demo.send_signal(signal.SIGINT)
        _, err = demo.communicate(timeout=30)
    try:
        assert demo.returncode == 0, err
        assert "Traceback" not in err
        assert err.strip().endswith("Stopped.")
        assert ports and all(_nothing_listens(p) for p in set(ports))
        assert not _ping(folder / "data" / "redis" / "redis.sock")
        leftovers = subprocess.run(["pgrep", "-f", str(folder)], capture_output=True, text=True)
        assert leftovers.stdout.strip() == ""
    finally:
        shutil.rmtree(folder, ignore_errors=True)
