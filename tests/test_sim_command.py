"""`earpiece sim --taskrouter --no-traffic`: the command as an operator runs it, read back
through the twilio SDK (issue 21, §2.5): every roster agent is a Worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from earpiece import roster as roster_module
from earpiece.cli import split_staff
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, DEMO_ROSTER
from tests.helpers import ServerThread


@pytest.fixture
def sim_command(tmp_path: Path) -> Iterator[str]:
    port = ServerThread.free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
               EARPIECE_ROSTER=DEMO_ROSTER)  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "earpiece.cli", "sim", "--port", str(port), "--taskrouter",
         "--no-traffic", "--callback-url", "http://127.0.0.1:9/twilio/conference-events"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url + "/sim/state", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[0].decode()
                assert time.monotonic() < deadline, "earpiece sim did not start"
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_without_traffic_every_roster_agent_is_a_worker(sim_command: str) -> None:
    from coach.twilio_client import make_client
    from earpiece.settings import load

    client = make_client(load({"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                               "TWILIO_API_BASE_URL": sim_command}, env_file=None))  # fmt: skip
    [workspace] = client.taskrouter.v1.workspaces.list()
    names = {w.friendly_name for w in client.taskrouter.v1.workspaces(workspace.sid).workers.list()}
    roster = roster_module.load(Path(DEMO_ROSTER))
    assert roster.agents and set(roster.agents) <= names


def test_with_traffic_the_agents_are_shared_out_once() -> None:
    """With generated calls, half the agents take labelled conferences and half are
    Workers, and nobody is both (one call at a time)."""
    labelled, workers = split_staff(["a", "b", "c", "d", "e"], 4, traffic=True)
    assert (labelled, workers) == (["a", "c"], ["b", "d"])
    assert split_staff(["a", "b"], 3, traffic=False) == ([], ["a", "b", "agent1"])
