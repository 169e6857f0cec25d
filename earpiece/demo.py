"""`earpiece demo`: the whole product on embedded defaults, wired together.

An embedded Redis (started here, stopped here), the Twilio simulator with a
generated floor, and the callback service, each in its own process with
generated credentials. Ctrl-C or SIGTERM stops every child, then the Redis
server this demo started: nothing is left running and no port stays bound.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import webbrowser
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

from access import api_keys, signin_links
from access.principal import SUPERVISOR
from core import demo_env
from core.audit import Audit
from core.embedded_redis import EmbeddedRedis
from core.keys import Keys
from core.private_files import private_dir
from core.redis_client import RedisTarget, async_client
from core.settings import SettingError, Settings
from core.settings import load as load_settings
from core.terminal_columns import pad
from core.twilio_client import CONNECTION_OVERRIDES
from dashboard import NOT_ITS_OWN
from earpiece import demo_floor
from live import roster as roster_module
from live.roster import Roster

READY_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0


def port_or_free(preferred: int) -> int:
    """`preferred` when it is free on loopback, else any free port."""
    for candidate in (preferred, 0):
        with socket.socket() as s:
            # As uvicorn binds (SO_REUSEADDR): a port the last run left in TIME_WAIT is free
            # to it, so a restarted demo keeps its ports (a trial found them moved).
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise SettingError("no free port on 127.0.0.1 for the demo")


def again_command() -> str:
    """How to run `earpiece` again from this folder, as this one was run: the README
    installs it into .venv without activating it, so a plain `earpiece` in a second
    terminal is "command not found" there; `.venv/bin/earpiece` is not."""
    ran = Path(sys.argv[0])
    if ran.name != "earpiece":
        return "earpiece"  # run as `python -m earpiece.cli`: say the installed command
    found = shutil.which("earpiece")
    if found is not None and Path(found).resolve() == ran.resolve():
        return "earpiece"  # the one on PATH
    try:
        return str(ran.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(ran.resolve())


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Demo:
    settings: Settings
    callbacks_port: int = 8000
    sim_port: int = 8700
    dashboard_port: int = 8501
    agents: int = 24
    calls_per_minute: float = 6.0
    children: list[Child] = field(default_factory=list)
    redis: EmbeddedRedis | None = None
    stopping: bool = False

    def __post_init__(self) -> None:
        self.account_sid = "AC" + secrets.token_hex(16)
        self.auth_token = secrets.token_hex(16)
        self.api_token = secrets.token_urlsafe(18)
        self.session_secret = secrets.token_urlsafe(32)
        self.workspace_sid = "WS" + secrets.token_hex(16)
        self.logs = (self.settings.data_dir / "logs").resolve()

    # -- processes -----------------------------------------------------------

    def _spawn(self, name: str, args: Sequence[str], env: dict[str, str]) -> Child:
        private_dir(self.settings.data_dir)
        private_dir(self.logs)  # the services' logs name supervisors and calls
        log = self.logs / f"{name}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "earpiece.cli", *args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Own process group: a Ctrl-C reaches the demo, which then stops
                # its children in order (sim first, so no callback is lost).
                start_new_session=True,
            )
        child = Child(name, process, log)
        self.children.append(child)
        return child

    def _wait_ready(self, child: Child, url: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if child.process.poll() is not None:
                raise SettingError(
                    f"the {child.name} process stopped at start: {self._tail(child)}"
                )
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise SettingError(f"the {child.name} process did not answer at {url}: {self._tail(child)}")

    @staticmethod
    def _tail(child: Child) -> str:
        try:
            lines = child.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return lines[-1] if lines else "(no output)"

    def start(self) -> None:
        self.callbacks_port = port_or_free(self.callbacks_port)
        self.sim_port = port_or_free(self.sim_port)
        self.dashboard_port = port_or_free(self.dashboard_port)
        dashboard_url = f"http://127.0.0.1:{self.dashboard_port}"
        callbacks_url = f"http://127.0.0.1:{self.callbacks_port}"
        sim_url = f"http://127.0.0.1:{self.sim_port}"
        if self.settings.redis_url is None:
            self.redis = EmbeddedRedis(self.settings.data_dir)
            redis_url = self.redis.start()
            asyncio.run(self._fresh_floor(redis_url))
        else:
            redis_url = self.settings.redis_url
        env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_API_BASE_URL": sim_url,
            "PUBLIC_BASE_URL": callbacks_url,
            "EARPIECE_API_TOKEN": self.api_token,
            "EARPIECE_DASHBOARD_URL": dashboard_url,
            # The demo, and only the demo, may run on the demo roster; its session secret
            # is made fresh for each run.
            "EARPIECE_DEMO": "true",
            "EARPIECE_SESSION_SECRET": self.session_secret,
            # The simulated Workspace's SID, chosen here so the service and the dashboard
            # follow it (agents' controls, the TaskRouter repair: issue 27).
            "TWILIO_WORKSPACE_SID": self.workspace_sid,
        }
        # `earpiece signin-link ID` in a second terminal, in this folder, finds this floor.
        demo_env.write(self.settings.data_dir, env, os.getpid())
        callbacks = self._spawn("callbacks", ["callbacks", "--port", str(self.callbacks_port)], env)
        self._wait_ready(callbacks, callbacks_url + "/healthz")
        sim = self._spawn("sim", [
            "sim", "--port", str(self.sim_port),
            # As the TwiML endpoints ask Twilio: with connection overrides (retries on a 5xx).
            "--callback-url", callbacks_url + "/twilio/conference-events" + CONNECTION_OVERRIDES,
            "--agents", str(self.agents), "--calls-per-minute", str(self.calls_per_minute),
            # Every other agent takes the labelled calls (the rest are Workers): two thirds
            # of them already talking, the floor's usual load, not all of them busy.
            "--prefill", str(max(1, self.agents // 3)), "--taskrouter",
            "--workspace-sid", self.workspace_sid,
        ], env)  # fmt: skip
        self._wait_ready(sim, sim_url + "/sim/state")
        # The dashboard acts through the service's API with each supervisor's session: it
        # is given no Twilio credential (issue 24).
        kept = {k: v for k, v in env.items() if k not in (*NOT_ITS_OWN, "TWILIO_API_BASE_URL")}
        dashboard = self._spawn(
            "dashboard",
            ["dashboard", "--host", "127.0.0.1", "--port", str(self.dashboard_port)],
            {**kept, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"},
        )
        self._wait_ready(dashboard, dashboard_url + "/_stcore/health")
        self.callbacks_url, self.sim_url, self.dashboard_url = callbacks_url, sim_url, dashboard_url
        self.signin_url = self._signin_url(env)

    def _signin_url(self, env: dict[str, str]) -> str:
        """A one-time link per demo supervisor (one of each role: try a lead's, a QA
        analyst's board), the first manager's opened; that manager's personal API key."""
        settings = load_settings(env, env_file=None)
        roster = roster_module.for_settings(settings)
        managers = [s for s in roster.supervisors.values() if s.role == "manager"]
        who = (managers or list(roster.supervisors.values()))[0]
        self.demo_supervisor, self.roster = who, roster
        self.links = asyncio.run(self._credentials(settings, roster, who.id))
        return self.links[who.id]

    async def _fresh_floor(self, redis_url: str) -> None:
        """The last run's simulated floor forgotten (earpiece/demo_floor.py)."""
        redis = async_client(RedisTarget(redis_url, False, None), 2)
        try:
            await demo_floor.forget_last_floor(redis, self.settings.namespace)
        finally:
            await redis.aclose()

    async def _credentials(self, settings: Settings, roster: Roster, ident: str) -> dict[str, str]:
        redis = async_client(RedisTarget(settings.redis_url or "", False, None), 2)
        try:
            # Audited as `earpiece api-key create` audits one (a newcomer found the demo's
            # key missing from the audit the README says keys are in).
            audit = Audit(redis, Keys(settings.namespace), settings.audit_retention_days)
            self.personal_key, _ = await api_keys.create(
                redis, audit, settings.namespace, roster, ident, SUPERVISOR, "earpiece demo"
            )
            return {s: await signin_links.link(redis, settings, s) for s in roster.supervisors}
        finally:
            await redis.aclose()

    def banner(self) -> str:
        """What the demo prints once it runs: links, credentials, the README's variables."""
        token, key = self.api_token, self.personal_key
        who = self.demo_supervisor
        others = [
            f"    {s.role:<8} {pad(s.name, 14)} {self.links[s.id]}"
            for s in self.roster.supervisors.values()
            if s.id != who.id and s.id in self.links
        ]
        lines = [
            "Earpiece demo is running: a simulated floor of "
            f"{self.agents} agents, about {self.calls_per_minute:g} calls a minute.",
            "",
            f"  Dashboard          {self.signin_url}",
            f"                     (a one-time link: signs you in as {who.name}, {who.role})",
            "  Or sign in as another demo supervisor (each link once; open it in a private",
            "  window to keep both; a new one: "
            f"`{again_command()} signin-link ID` here, in this folder):",
            *others,
            f"  Live floor (JSON)  {self.callbacks_url}/api/conferences",
            f"  Queues (JSON)      {self.callbacks_url}/api/queues",
            f"  Live feed (SSE)    {self.callbacks_url}/events",
            f"  Service token      {token}   (read-only: wallboards, integrations)",
            f"  {who.id}'s API key{' ' * max(1, 9 - len(who.id))}{key}   (acts as {who.name})",
            f"  Twilio simulator   {self.sim_url}/sim/state",
            f"  Logs               {self.logs}",
            f"  Floor clock        {self.settings.timezone}"
            + (
                "   (a Tokyo floor: EARPIECE_TIMEZONE=Asia/Tokyo before `earpiece demo`)"
                if self.settings.timezone == "UTC"
                else ""
            ),
            "",
            f'  Try: curl -H "Authorization: Bearer {token}" {self.callbacks_url}/api/conferences',
            "",
            "  For README's examples, in a second terminal:",
            f"    export API={self.callbacks_url} SIM={self.sim_url} TOKEN={token} KEY={key}",
            "",
            "Press Ctrl-C to stop.",
        ]
        return "\n".join(lines)

    def watch(self) -> int:
        """Run until a signal, or until a child dies (then stop the rest and say why)."""
        while not self.stopping:
            for child in self.children:
                if child.process.poll() is not None:
                    print(
                        f"earpiece: the {child.name} process stopped: {self._tail(child)}",
                        file=sys.stderr,
                    )
                    return 1
            time.sleep(0.2)
        return 0

    def stop(self) -> None:
        # The simulator first (no new callbacks), then the dashboard and the
        # service, then Redis.
        for child in sorted(self.children, key=lambda c: c.name != "sim"):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for child in self.children:
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
        demo_env.remove(self.settings.data_dir)
        if self.redis is not None:
            self.redis.release()
            self.redis.shutdown()


def has_screen() -> bool:
    """Whether a browser window can open here (not over SSH, not in CI, not headless Linux)."""
    if os.environ.get("CI") or os.environ.get("SSH_CONNECTION"):
        return False
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(
    settings: Settings, *, agents: int, calls_per_minute: float, open_browser: bool = True
) -> int:
    demo = Demo(settings, agents=agents, calls_per_minute=calls_per_minute)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        demo.stopping = True

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        demo.start()
        print(demo.banner(), flush=True)
        if open_browser and has_screen():
            webbrowser.open(demo.signin_url)
        code = demo.watch()
    finally:
        print("Stopping the demo ...", file=sys.stderr, flush=True)
        demo.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
    print("Stopped.", file=sys.stderr, flush=True)
    return code
