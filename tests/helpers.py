"""Test helpers: Twilio-shaped callbacks, signed with the real twilio SDK, and a server thread."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, overload

import httpx
import httpx2
import redis
import uvicorn
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from core.floor_clock import FloorClock
from core.settings import Settings
from core.times import now_ms

# An hour ago, on a whole minute (so on a boundary of the 30 s history buckets too):
# callbacks dated within a day of now, as Earpiece requires (a Timestamp further away
# is refused as nonsense).
BASE_TIME = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)


def sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def rfc2822(seconds: float) -> str:
    return format_datetime(BASE_TIME + timedelta(seconds=seconds))


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    return str(RequestValidator(auth_token).compute_signature(url, params))


class Conference:
    """Builds one conference's callbacks with increasing SequenceNumbers, as Twilio does."""

    def __init__(self, friendly_name: str = "task") -> None:
        self.sid = sid("CF")
        self.friendly_name = friendly_name
        self.seq = 0

    def event(self, name: str, call_sid: str | None = None, **extra: Any) -> dict[str, str]:
        self.seq += 1
        params: dict[str, str] = {
            "AccountSid": "AC" + "0" * 32,
            "ConferenceSid": self.sid,
            "FriendlyName": self.friendly_name,
            "StatusCallbackEvent": name,
            "SequenceNumber": str(self.seq),
            "Timestamp": rfc2822(self.seq),
        }
        if call_sid is not None:
            params.update(
                {
                    "CallSid": call_sid,
                    "Muted": "false",
                    "Hold": "false",
                    "Coaching": "false",
                    "EndConferenceOnExit": "false",
                    "StartConferenceOnEnter": "true",
                }
            )
        for key, value in extra.items():
            params[key] = str(value).lower() if isinstance(value, bool) else str(value)
        return params


@overload
def post_signed(
    client: TestClient,
    settings: Settings | None,
    path: str,
    params: dict[str, str],
    **headers: str,
) -> httpx2.Response: ...
@overload
def post_signed(
    client: httpx.Client,
    settings: Settings | None,
    path: str,
    params: dict[str, str],
    **headers: str,
) -> httpx.Response: ...
def post_signed(
    client: httpx.Client | TestClient,
    settings: Settings | None,
    path: str,
    params: dict[str, str],
    **headers: str,
) -> httpx.Response | httpx2.Response:
    """`params` posted to `path` as Twilio would, signed with `settings`' token and URL.
    (A TestClient is an httpx2.Client since Starlette 1.x: its responses are httpx2's.)"""
    assert settings is not None
    assert settings.public_base_url is not None and settings.twilio_auth_token is not None
    signature = sign(settings.twilio_auth_token, settings.public_base_url + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature, **headers})


@dataclass
class Received:
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    valid: bool


class Receiver:
    """Collects posted callbacks; each is checked with twilio.request_validator."""

    def __init__(self, url: str, auth_token: str) -> None:
        self.url = url
        self.validator = RequestValidator(auth_token)
        self.received: list[Received] = []
        self.server: ServerThread | None = None  # the server it answers on, once started
        self.status = 204  # what it answers (503: as a service whose Redis is away)

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        async def collect(request: Request) -> Response:
            form = await request.form()
            params = {k: str(v) for k, v in form.items()}
            valid = self.validator.validate(
                self.url + request.url.path, params, request.headers.get("x-twilio-signature", "")
            )
            self.received.append(Received(request.url.path, params, dict(request.headers), valid))
            return Response(status_code=self.status)

        return Starlette(routes=[Route("/{path:path}", collect, methods=["POST"])])

    def events(self, conference_sid: str | None = None) -> list[dict[str, str]]:
        return [
            r.params for r in self.received
            if r.path == "/conference-events"
            and (conference_sid is None or r.params.get("ConferenceSid") == conference_sid)
        ]  # fmt: skip

    def wait_for(self, predicate: Any, seconds: float = 5.0) -> None:
        deadline = time.monotonic() + seconds
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; received {[r.params for r in self.received]}")
            time.sleep(0.01)


HANDED_OUT: set[int] = set()
# This process's place among the suite's workers (pytest-xdist's gw0, gw1, ...), if any.
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))


# How long a stopping test server waits for its open responses (an SSE stream a test left
# open, say) before cancelling them: uvicorn's default waits for ever, and a test that did
# not close its stream held its teardown for ServerThread.stop's whole 10 s join.
GRACEFUL_SHUTDOWN_SECONDS = 1


class _PromptServer(uvicorn.Server):
    """uvicorn's server, told to stop at once rather than at its next 0.1 s tick: a test
    starts and stops several hundred servers, and the ticks added up to a minute."""

    _stopping: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            # Wakes after uvicorn's tick (the Date header's clock), or as soon as stop() asks.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), 0.1)

    def stop_soon(self) -> None:
        self.should_exit = True
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stopping.set)


class ServerThread:
    """A real uvicorn server on a loopback port, run in a thread for the test's duration."""

    def __init__(self, app: Any, port: int, settings: Settings | None) -> None:
        self.port = port
        self.settings = settings
        self.url = f"http://127.0.0.1:{port}"
        self.app = app  # what it serves (uvicorn's config types it as any ASGI app or a str)
        self.server = _PromptServer(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                           timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)
        )  # fmt: skip
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @staticmethod
    def free_port() -> int:
        """A free port never handed out before in this session: a port is chosen before its
        server binds it (its URL goes into the other side's settings first), and the OS may
        offer a just-released port again, to the next server started meanwhile. With the
        suite on several workers, each worker takes only its own share of the ports, so two
        workers never choose the same one (by pairs: the OS hands out ports of one parity)."""
        while True:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = int(s.getsockname()[1])
            if port // 2 % WORKERS == WORKER and port not in HANDED_OUT:
                HANDED_OUT.add(port)
                return port

    def start(self) -> None:
        start_all(self)

    def _started(self) -> None:
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        stop_all(self)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)


def start_all(*servers: ServerThread) -> None:
    """Start several servers together (each startup, its app's lifespan, runs in parallel)."""
    for running in servers:
        running.thread.start()
    for running in servers:
        running._started()


def stop_all(*servers: ServerThread) -> None:
    """Stop several servers together (each shutdown waits a little on its own, in parallel)."""
    for running in servers:
        running.server.stop_soon()
    for running in servers:
        running.thread.join(10)


_HELD: dict[str, int] = {}


@contextlib.contextmanager
def machine_lock(name: str) -> Iterator[None]:
    """Held by one test process of this machine at a time (the suite runs on several workers,
    and a developer may run two suites): for what the processes share, such as the demo's
    preferred ports. Re-entrant within a process."""
    if _HELD.get(name):
        _HELD[name] += 1
        try:
            yield
        finally:
            _HELD[name] -= 1
        return
    with open(Path(tempfile.gettempdir()) / f"earpiece-tests-{name}.lock", "a") as file:
        fcntl.flock(file, fcntl.LOCK_EX)  # released when the file closes
        _HELD[name] = 1
        try:
            yield
        finally:
            _HELD[name] = 0


def start_demo(folder: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    """`earpiece demo` as a user starts it (no inherited settings), and its banner.

    One demo starts at a time on the machine: a demo takes 8000, 8700 and 8501 when they are
    free, and a second demo that looked before the first one's services bound them would
    take them too (and fail). The banner is printed once every service answers."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REDIS_URL", "TWILIO_", "EARPIECE_"))}  # fmt: skip
    env["EARPIECE_DATA_DIR"] = str(folder / "data")
    with machine_lock("demo"):
        process = subprocess.Popen(
            [sys.executable, "-m", "earpiece.cli", "demo", "--no-browser", *args],
            cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert process.stdout is not None
        banner = []
        for line in process.stdout:
            banner.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        else:  # it ended before its banner: what it said on the way is why
            assert process.stderr is not None
            banner.append(f"(exit {process.wait()}) " + process.stderr.read()[-3000:])
    return process, "".join(banner)


def clear_of_midnight(zone: str, seconds: float) -> str:
    """The day in `zone` that the next `seconds` fall in: waits out midnight there first if
    it is nearer than that. For a test that makes a call, then reads the page of its day:
    the page's default is today in the floor's zone, which at 00:00 Tokyo (15:00 UTC) is no
    longer the call's day (a CI run at 15:05 UTC saw the Day page empty). The floor's own
    clock says where its day ends (core/floor_clock.py)."""
    clock = FloorClock(zone)
    left_ms = clock.day_end_ms(clock.today()) + 1 - now_ms()
    if left_ms < seconds * 1000:
        time.sleep(left_ms / 1000 + 0.5)
    return clock.today().isoformat()


def earpiece_command(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`earpiece ARGS` beside a running demo of `folder` (its embedded Redis, its settings)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REDIS_URL", "TWILIO_", "EARPIECE_"))}  # fmt: skip
    env.update(EARPIECE_DATA_DIR=str(folder / "data"), EARPIECE_DEMO="true")
    return subprocess.run([sys.executable, "-m", "earpiece.cli", *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


# Talk and hold totals add up start/stop pairs as they arrive: exact when a pair
# comes in order (Twilio sends them seconds apart), approximate when one is
# reversed. Tests of order independence compare everything else.
ARRIVAL_DEPENDENT = ("talk_seconds", "talk_share", "hold_seconds")


def order_free(conference: dict[str, Any]) -> dict[str, Any]:
    signals = conference.get("signals")
    if signals:
        conference["signals"] = {k: v for k, v in signals.items() if k not in ARRIVAL_DEPENDENT}
    return conference


def start_redis_server(binary: str, port: int) -> subprocess.Popen[bytes]:
    """A redis-server of a test's own on `port` (nothing saved), answering PING when returned:
    for the tests that kill, restart or freeze their Redis (tests/scenarios/test_never_wrong.py,
    tests/callbacks/test_board_stall.py), which the session's shared one must never be."""
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port, socket_timeout=1)
    deadline = time.monotonic() + 10
    try:
        while True:
            try:
                client.ping()
                return process
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
    finally:
        client.close()
