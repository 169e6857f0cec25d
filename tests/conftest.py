"""Shared fixtures: a real Redis, settings, the app, a real HTTP server, signed callbacks.

Redis: REDIS_URL when set (any standalone Redis or a Cluster), else an
embedded server started for this test session in a temporary folder. Each
test gets its own namespace, so tests never see each other's floors.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.embedded_redis import EmbeddedRedis
from core.redis_client import RedisTarget, _is_cluster
from core.settings import Settings, load
from tests.helpers import Receiver, ServerThread, stop_all


def _share_httpx_tls_context() -> None:
    """httpx makes a new SSL context (certifi's CA bundle loaded again, ~25 ms of CPU) for
    every client, and `httpx.get` / `httpx.post` make a client a call: py-spy found 12% of
    the suite's CPU in the tests' polling loops there. The process's one context
    (core/tls.py, as the product's clients use) serves every default client of the tests
    instead; any other `verify` goes through httpx's own function as before."""
    from httpx._transports import default as transport

    from core import tls

    made = transport.create_ssl_context  # type: ignore[attr-defined]
    assert made.__name__ == "create_ssl_context", "httpx changed where it makes SSL contexts"

    def shared(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        if verify is True and cert is None and trust_env:
            return tls.context()
        return made(verify=verify, cert=cert, trust_env=trust_env)

    transport.create_ssl_context = shared  # type: ignore[attr-defined]


_share_httpx_tls_context()

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
API_TOKEN = "test-api-token"
SESSION_SECRET = "test-session-secret-0123456789abcdef-0123456789"
# The roster the package ships for `earpiece demo`, named as a production process names its own.
ARCHIVES = Path(tempfile.gettempdir()) / f"ep-test-archives-{os.getpid()}"
POSTGRES = os.environ.get(
    "EARPIECE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
DEMO_ROSTER = str(Path(__file__).resolve().parent.parent / "earpiece" / "demo_roster.toml")


@pytest.fixture(scope="session")
def redis_target() -> Iterator[RedisTarget]:
    url = os.environ.get("REDIS_URL")
    if url:
        yield RedisTarget(url=url, cluster=_is_cluster(url), embedded=None)
        return
    folder = Path(tempfile.mkdtemp(prefix="ep-test-", dir="/tmp"))
    embedded = EmbeddedRedis(folder)
    embedded.start()
    yield RedisTarget(url=embedded.url, cluster=False, embedded=None)
    embedded.release()
    embedded.shutdown()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def assembled_dashboard() -> None:
    """What `earpiece dashboard` does before its first page (earpiece/dashboard_server.py),
    for the tests that run pages in Streamlit's AppTest in this process."""
    from dashboard.runtime import assemble_with
    from earpiece.services import build_reading

    assemble_with(build_reading)


@pytest.fixture(scope="session", autouse=True)
def archives() -> Iterator[Path]:
    """The tests' archive files (one per namespace), removed when the session ends."""
    ARCHIVES.mkdir(parents=True, exist_ok=True)
    yield ARCHIVES
    shutil.rmtree(ARCHIVES, ignore_errors=True)


@pytest.fixture
def namespace() -> str:
    return "t" + uuid.uuid4().hex[:12]


def make_settings(redis_url: str, namespace: str, public_base_url: str, **extra: str) -> Settings:
    env = {
        "REDIS_URL": redis_url,
        "EARPIECE_NAMESPACE": namespace,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "PUBLIC_BASE_URL": public_base_url,
        "EARPIECE_API_TOKEN": API_TOKEN,
        "EARPIECE_SESSION_SECRET": SESSION_SECRET,
        "EARPIECE_DEMO": "true",  # the demo roster
        # Each test's own archive (a file beside the others in the temporary folder).
        "EARPIECE_ARCHIVE_URL": f"sqlite:///{ARCHIVES / (namespace + '.sqlite3')}",
        "EARPIECE_ARCHIVE_SETTLE_SECONDS": "0.5",
        **extra,
    }
    return load(env, env_file=None)


# What a dashboard process never holds (issue 24): it acts through the service's API.
TWILIO_CREDENTIALS = frozenset({"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
                                "TWILIO_WEBHOOK_SHARED_KEYS"})  # fmt: skip


def dashboard_env(service: Settings, **extra: str) -> dict[str, str]:
    """The environment of a dashboard process beside a running service and simulator
    (none of this process's own Twilio or Earpiece settings). It holds no Twilio credential
    and never reaches the simulator: it acts through the service's API (issue 24)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "EARPIECE_"))},
        "REDIS_URL": service.redis_url or "", "EARPIECE_NAMESPACE": service.namespace,
        "PUBLIC_BASE_URL": service.base_url,
        "EARPIECE_SESSION_SECRET": SESSION_SECRET, "EARPIECE_DEMO": "true",
        "EARPIECE_ARCHIVE_URL": service.archive_url or "", **extra,
    }  # fmt: skip
    assert not TWILIO_CREDENTIALS & env.keys(), "the dashboard holds no Twilio credential"
    return env


def signin_code(settings: Settings, supervisor: str) -> str:
    """A one-time sign-in code for the dashboard (`/?signin=CODE`), as `earpiece signin-link`
    makes one."""
    import secrets

    from access import signin_links
    from core.redis_client import sync_client

    code = secrets.token_urlsafe(signin_links.CODE_BYTES)
    assert settings.redis_url is not None
    redis = sync_client(RedisTarget(settings.redis_url, _is_cluster(settings.redis_url), None))
    try:
        redis.set(signin_links.key(settings.namespace, code), supervisor, ex=600)
    finally:
        redis.close()
    return code


def personal_key(settings: Settings, owner: str, kind: str = "supervisor") -> str:
    """A personal API key for a roster supervisor (or agent), stored as the CLI stores one."""
    from access import api_keys
    from core.redis_client import sync_client
    from live.roster import for_settings

    key, key_id, record = api_keys.new_key(for_settings(settings), owner, kind, "test")
    assert settings.redis_url is not None
    redis = sync_client(RedisTarget(settings.redis_url, _is_cluster(settings.redis_url), None))
    try:
        redis.hset(api_keys.hash_key(settings.namespace), key_id, record)
    finally:
        redis.close()
    return key


def session_token(settings: Settings, supervisor: str) -> str:
    """A dashboard session of `supervisor`'s, opened as signing in opens one: what the
    dashboard sends the API as `Authorization: Session <token>`."""
    import asyncio

    from access.sessions import SessionStore
    from core.redis_client import async_client

    assert settings.redis_url is not None

    async def made() -> str:
        redis = async_client(RedisTarget(settings.redis_url or "", False, None), 2)
        try:
            store = SessionStore(redis, settings.namespace, SESSION_SECRET, 3600)
            return await store.create(supervisor)
        finally:
            await redis.aclose()

    return asyncio.run(made())


@pytest.fixture
def settings(redis_target: RedisTarget, namespace: str) -> Settings:
    return make_settings(redis_target.url, namespace, "https://earpiece.example.com")


ACCOUNT_SID = "AC" + "0" * 32


@dataclass
class Sim:
    """A running simulator and the SDK client pointed at it."""

    url: str
    thread: ServerThread
    config: Any

    @property
    def engine(self) -> Any:
        return self.thread.app.state.engine

    def client(self, token: str = AUTH_TOKEN) -> Any:
        from core.twilio_client import make_client

        return make_client(
            load(
                {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": token,
                 "TWILIO_API_BASE_URL": self.url},
                env_file=None,
            )
        )  # fmt: skip

    def control(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def drain(self, seconds: float = 10.0) -> None:
        """Wait until the simulator has posted every callback it queued."""
        deadline = time.monotonic() + seconds
        while self.engine.deliverer.pending:
            assert time.monotonic() < deadline, "the simulator did not deliver its callbacks"
            time.sleep(0.01)


def start_sim(callback_url: str | None, **overrides: Any) -> Sim:
    sim = make_sim(callback_url, **overrides)
    sim.thread.start()
    return sim


def make_sim(callback_url: str | None, **overrides: Any) -> Sim:
    """A simulator not started yet (start_sim starts one)."""
    from twilio_sim.app import create_app
    from twilio_sim.config import Endpoint, SimConfig

    config = SimConfig(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, callback_url=callback_url,
        **{"default_endpoint": Endpoint("answer", 0.05), "no_answer_seconds": 0.2, "seed": 7,
           **overrides},
    )  # fmt: skip
    port = ServerThread.free_port()
    thread = ServerThread(create_app(config), port, None)
    return Sim(f"http://127.0.0.1:{port}", thread, config)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A stand-in webhook receiver that checks every signature with the twilio SDK."""
    port = ServerThread.free_port()
    got = Receiver(f"http://127.0.0.1:{port}", AUTH_TOKEN)
    got.server = ServerThread(got.app(), port, None)
    got.server.start()
    yield got
    got.server.stop()


@pytest.fixture
def sim(receiver: Receiver) -> Iterator[Sim]:
    running = start_sim(receiver.url + "/conference-events")
    yield running
    assert receiver.server is not None
    stop_all(running.thread, receiver.server)  # together: each waits a little on its own


@pytest.fixture
def server(redis_target: RedisTarget, namespace: str) -> Iterator[ServerThread]:
    """The callback service on a real port, in a thread of this process."""
    from earpiece.service import create_app

    port = ServerThread.free_port()
    settings = make_settings(
        redis_target.url,
        namespace,
        f"http://127.0.0.1:{port}",
        EARPIECE_SSE_PING_SECONDS="1",
    )
    thread = ServerThread(create_app(settings, redis_target), port, settings)
    thread.start()
    yield thread
    thread.stop()


@dataclass
class Wired:
    """The Twilio simulator and the callback service, pointed at each other."""

    sim: Sim
    service: ServerThread
    keys: dict[tuple[str, str], str] = field(default_factory=dict)

    def stop(self) -> None:
        stop_all(self.sim.thread, self.service)

    def api(self, who: str | None = None, kind: str = "supervisor") -> httpx.Client:
        """A client with the service token (read-only), or with `who`'s personal key."""
        return self.service.client(self.key(who, kind) if who else API_TOKEN)

    def key(self, who: str, kind: str = "supervisor") -> str:
        cached = self.keys.get((who, kind))
        if cached is None:
            assert self.service.settings is not None
            cached = self.keys[(who, kind)] = personal_key(self.service.settings, who, kind)
        return cached

    def new_call(self, agent: str = "bob") -> dict[str, str]:
        with self.sim.control() as http:
            call: dict[str, str] = http.post("/sim/calls", json={"agent": agent}).json()
        # Until its agent is on it: a call's team is its agent's, so before the agent's join
        # is applied the call is on no team, and a lead's listen is rightly refused (403: a
        # three-worker run caught a test asking in that moment).
        self.wait(lambda: any(p.get("role") == "agent" for p in self.people(call)))
        return call

    def people(self, call: dict[str, str]) -> list[dict[str, Any]]:
        conference = self.conference(call["conference_sid"]) or {}
        return list(conference.get("participants") or ())

    def act(self, sid: str, action: str, call_sid: str | None = None) -> None:
        with self.sim.control() as http:
            response = http.post(
                f"/sim/conferences/{sid}/actions", json={"action": action, "call_sid": call_sid}
            )
        assert response.status_code == 200, response.text

    def conference(self, sid: str) -> dict[str, Any] | None:
        with self.api() as http:
            response = http.get(f"/api/conferences/{sid}")
        return response.json() if response.status_code == 200 else None

    def monitor(self, sid: str, supervisor: str) -> dict[str, Any] | None:
        conference = self.conference(sid) or {}
        return next(
            (m for m in conference.get("monitors", []) if m["supervisor"] == supervisor), None
        )

    def sim_leg(self, sid: str, call_sid: str) -> Any:
        return self.sim.engine.conferences[sid].participants[call_sid]

    @staticmethod
    def wait(predicate: Any, seconds: float = 5.0) -> None:
        deadline = time.monotonic() + seconds
        while not predicate():
            assert time.monotonic() < deadline, "timed out waiting"
            time.sleep(0.02)


def wire(redis_target: RedisTarget, namespace: str, **settings_extra: str) -> Wired:
    from earpiece.service import create_app

    port = ServerThread.free_port()
    sim = make_sim(f"http://127.0.0.1:{port}/twilio/conference-events")
    settings = make_settings(
        redis_target.url, namespace, f"http://127.0.0.1:{port}",
        TWILIO_API_BASE_URL=sim.url, EARPIECE_TWILIO_RETRIES="3", **settings_extra,
    )  # fmt: skip
    service = ServerThread(create_app(settings, redis_target), port, settings)
    # The simulator first: the service's background passes (the reconciler) call it at once.
    sim.thread.start()
    service.start()
    return Wired(sim, service)


@pytest.fixture
def wiring(redis_target: RedisTarget, namespace: str) -> Iterator[Callable[..., Wired]]:
    """Make a simulator and service pair with extra settings; all stopped after the test."""
    made: list[Wired] = []

    def make(**settings_extra: str) -> Wired:
        running = wire(redis_target, namespace, **settings_extra)
        made.append(running)
        return running

    yield make
    stop_all(*(server for running in made for server in (running.sim.thread, running.service)))


@pytest.fixture
def wired(wiring: Callable[..., Wired]) -> Wired:
    return wiring()


@pytest.fixture(params=["sqlite", "postgresql"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A factory of the archive's store, each kind (made inside the test's own event loop:
    psycopg's connection belongs to the loop that opens it); PostgreSQL in a database of its
    own, dropped afterwards (EARPIECE_TEST_POSTGRES_URL, else the machine's server)."""
    if request.param == "sqlite":
        from archive.sqlite_store import SqliteStore

        yield lambda: SqliteStore(tmp_path / "archive.sqlite3")
        return
    import psycopg

    from archive.postgres_store import PostgresStore

    name = "ep_test_" + uuid.uuid4().hex[:10]
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = POSTGRES.rsplit("/", 1)[0] + "/" + name
    try:
        yield lambda: PostgresStore(url)
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


# The suites that run a whole floor: in a real browser (chromium), or a scenario of many
# simulated calls, or the demo itself. A contributor's quick run leaves them out:
#     pytest -m "not browser and not scenario"
# CI runs everything (README's test command has no -m).
# The whole-floor scenarios and the demo live in tests/scenarios/ (the rest mirror the floor
# they test: tests/live/ tests live/, and so on); a module that drives chromium is marked
# browser wherever it lives (most are in tests/chromium/).
SCENARIOS = Path(__file__).resolve().parent / "scenarios"


def _source(path: Path, seen: dict[Path, str] = {}) -> str:  # noqa: B006 - a cache
    if path not in seen:
        seen[path] = path.read_text(encoding="utf-8")
    return seen[path]


def _runs_a_browser(path: Path) -> bool:
    source = _source(path)
    return "playwright" in source or "from tests.browser" in source


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives Debian's chromium through Playwright")
    config.addinivalue_line("markers", "scenario: a whole floor of simulated calls, or the demo")


# The suite runs on several workers (pyproject's addopts: -n auto): one a core and one more,
# at most eight (each worker starts its own Redis, its own demos and chromiums).
# PYTEST_XDIST_AUTO_NUM_WORKERS=N, or -n N, says otherwise; -n 0 runs the suite in this one
# process.
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    chosen = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    if chosen:
        return int(chosen)
    # A worker's process tree (its servers, demos, chromium) waits on timers and sockets
    # much of its time, so one worker more than the cores keeps them busy. On this 2-core
    # machine: two workers 6 min 11 s to 7 min 34 s, three 4 min 30 s to 5 min 56 s (the
    # machine 82% busy, chromium a third of all CPU and the host's own daemons a quarter),
    # four 6 min 08 s with the cores saturated. The extra load found six races, all fixed:
    # a module run before its dashboard was assembled, a metric read before its count, a
    # footer read while Streamlit still showed the stale one, a lead asking before the call
    # had its team, the board stream's Condition losing its lock when cancelled twice
    # (core/waiting.py), and the Agents page's controls rerunning the page before drawing
    # their buttons (a click on them lost).
    return min((os.cpu_count() or 1) + 1, 8)


def pytest_itemcollected(item: pytest.Item) -> None:
    path = Path(str(item.fspath))
    if _runs_a_browser(path):
        item.add_marker(pytest.mark.browser)
    if path.parent == SCENARIOS:
        item.add_marker(pytest.mark.scenario)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Each module runs whole on one worker (--dist loadfile: its module fixtures, a demo or a
    # browser, are set up once). The whole-floor modules first: each is long, so the workers
    # start on them and share out the many short ones at the end (xdist keeps this order:
    # --no-loadscope-reorder in pyproject's addopts).
    items.sort(key=lambda item: not item.get_closest_marker("browser")
               and not item.get_closest_marker("scenario"))  # fmt: skip
