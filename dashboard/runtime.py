"""The dashboard process's one Redis client, live floor and API client, and the loop they
run on.

Streamlit runs each browser session's script in its own thread, but the
floor is asyncio code bound to one event loop (the Redis pool belongs to the
loop that made it). So the process keeps one loop in a daemon thread, builds
what it reads there once (`get`, a Streamlit resource shared by every
session), and scripts submit coroutines to it and wait for the answer with a
timeout. It acts only through the callback service's API (dashboard/actions.py,
one HTTP client per process, each request with the supervisor's own session):
it builds no coach and holds no Twilio credential (issue 24).

A floor read is shared too: several supervisors watching the same floor
within one refresh period get the same snapshot instead of each reading
every conference from Redis again (one snapshot kept: bounded).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from redis.exceptions import RedisError

from access.oidc_identity import Identities
from access.sessions import SessionStore
from access.signin import SignIn
from archive.store import Store
from coach.media import media_streams_available
from core.audit import Audit
from core.redis_client import AsyncRedis, RedisTarget, resolve
from core.settings import Settings
from dashboard.actions import Service
from dashboard.i18n import _
from live import roster as roster_module
from live.model import Json
from live.queues import LiveQueues
from live.roster import Roster
from live.store import LiveFloor, now_ms
from live.transcript import Transcripts

T = TypeVar("T")

# How long a page waits for Redis before it says so, in seconds.
CALL_TIMEOUT_SECONDS = 10.0


class Reading(Protocol):
    """What the dashboard reads the floor with: made by the process's assembly (the
    commands' floor, earpiece/services.py `build_reading`), with no Twilio client."""

    redis: AsyncRedis
    floor: LiveFloor
    queues: LiveQueues
    transcripts: Transcripts
    store: Store
    audit: Audit

    async def close(self) -> None: ...


Build = Callable[[Settings, RedisTarget, Roster], Reading]

# Who makes the Reading. Streamlit runs app.py as a script, which takes no arguments, so the
# process's assembly hands its builder over here before the first page runs
# (earpiece/dashboard_server.py, which `earpiece dashboard` serves; a test that runs a page
# in AppTest does the same). Set once per process, before any session: not per request.
_build: Build | None = None


def assemble_with(build: Build) -> None:
    global _build
    _build = build


class Unavailable(Exception):
    """Redis does not answer; the message says so in one line for the banner."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    conferences: list[Json]
    at_ms: int
    read_ms: float  # how long the read took (shown in the footer, measured by the bench)


class Runtime:
    def __init__(self, settings: Settings, roster: Roster) -> None:
        self.settings = settings
        self.roster = roster
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="earpiece-dashboard-loop", daemon=True
        )
        self._thread.start()
        self._snapshot: Snapshot | None = None
        self._snapshot_lock = threading.Lock()
        target = resolve(settings)
        self.services: Reading = self.run(self._assemble(target))
        self.api = Service(settings.service_api_url)
        # Listening in the browser needs Twilio's Media Streams, offered in some regions only.
        self.media_available = media_streams_available(settings.twilio_region)
        assert settings.session_secret is not None  # dashboard.REQUIRED
        redis, namespace = self.services.redis, settings.namespace
        self.sessions = SessionStore(
            redis, namespace, settings.session_secret, settings.session_hours * 3600
        )
        self.identities = Identities(redis, namespace, roster, settings.oidc_claim)
        self.signin = SignIn(
            redis,
            namespace,
            roster,
            self.services.audit,
            max_failures=settings.signin_max_failures,
            lock_seconds=settings.signin_lock_seconds,
        )

    async def _assemble(self, target: RedisTarget) -> Reading:
        if _build is None:
            raise RuntimeError("the dashboard's parts were not assembled: run `earpiece dashboard`")
        return _build(self.settings, target, self.roster)

    def run(self, work: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT_SECONDS) -> T:
        """Run `work` on the process's loop and wait; Redis trouble becomes `Unavailable`."""
        future = asyncio.run_coroutine_threadsafe(work, self._loop)
        try:
            return future.result(timeout)
        except (RedisError, OSError) as exc:
            raise Unavailable(
                _("Redis is unreachable ({error})").format(error=f"{type(exc).__name__}: {exc}")
            ) from None
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise Unavailable(
                _("Redis did not answer within {seconds} s").format(seconds=f"{timeout:g}")
            ) from None

    def floor(self, max_age_seconds: float) -> Snapshot:
        """The live conferences, no older than `max_age_seconds` (shared by all sessions)."""
        with self._snapshot_lock:
            snap = self._snapshot
            if snap is not None and now_ms() - snap.at_ms <= max_age_seconds * 1000:
                return snap
            started = time.perf_counter()
            conferences = self.run(self.services.floor.conferences())
            # Copies: the floor's render cache owns the dicts it returns.
            snap = Snapshot(
                [dict(c) for c in conferences], now_ms(), (time.perf_counter() - started) * 1000
            )
            self._snapshot = snap
            return snap

    def floor_since(self, at_ms: int, max_age_seconds: float) -> Snapshot:
        """A snapshot taken after `at_ms` (a change the browser saw), read again at most once
        for every session that asks: the first to find it older reads, the rest share it."""
        with self._snapshot_lock:
            if self._snapshot is not None and self._snapshot.at_ms < at_ms:
                self._snapshot = None
        return self.floor(max_age_seconds)

    def forget_snapshot(self) -> None:
        """After an action: the next read shows its effect, not the snapshot from before it."""
        with self._snapshot_lock:
            self._snapshot = None

    def close(self) -> None:
        self.api.close()
        self.run(self.services.close())
        self._loop.call_soon_threadsafe(self._loop.stop)


def make(settings: Settings) -> Runtime:
    return Runtime(settings, roster_module.for_settings(settings))
