"""`earpiece demo` running for a module of browser tests: what its banner says, and what
the tests ask its simulator. One way to start and stop it for every module that drives
the demo in chromium (each used to write its own copy)."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.helpers import start_demo


@dataclass
class Demo:
    process: subprocess.Popen[str]
    folder: Path
    banner: str
    signin_url: str  # the dashboard's sign-in link, as the banner prints it
    base: str  # the dashboard, no path
    sim_url: str
    api_url: str
    token: str

    def sim_state(self) -> dict[str, Any]:
        state: dict[str, Any] = httpx.get(self.sim_url + "/sim/state", timeout=5).json()
        return state

    def supervisor_leg(self, conference_sid: str, supervisor: str) -> dict[str, Any] | None:
        for conference in self.sim_state()["conferences"]:
            if conference["sid"] != conference_sid:
                continue
            for p in conference["participants"]:
                if p["label"] == f"supervisor:{supervisor}" and p["status"] == "connected":
                    return dict(p)
        return None


@contextmanager
def demo_running(prefix: str, calls_per_minute: int, agents: int = 4) -> Iterator[Demo]:
    """The demo with `agents` agents taking `calls_per_minute`, stopped with Ctrl-C after."""
    folder = Path(tempfile.mkdtemp(prefix=f"ep-{prefix}-", dir="/tmp"))
    process, text = start_demo(
        folder, "--agents", str(agents), "--calls-per-minute", str(calls_per_minute)
    )
    try:
        signin = re.search(r"Dashboard\s+(\S+)", text)
        base = re.search(r"Dashboard\s+(http://127\.0\.0\.1:\d+)/", text)
        sim = re.search(r"Twilio simulator\s+(\S+)/sim/state", text)
        api = re.search(r"Live floor \(JSON\)\s+(\S+)/api/conferences", text)
        token = re.search(r"Service token\s+(\S+)", text)
        assert signin and base and sim and api and token, text
        yield Demo(
            process, folder, text, signin.group(1), base.group(1), sim.group(1),
            api.group(1), token.group(1),
        )  # fmt: skip
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)
