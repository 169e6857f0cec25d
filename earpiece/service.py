"""The callback service's process, assembled: settings checked, clients made once
(earpiece/services.py), the feed's and the board's hubs, the once-a-second jobs, and the
routes (callbacks/app.py) served on them.

Here, on the commands' floor, because assembling a process is the one job that imports every
part; `earpiece callbacks` serves `create_app()`, and uvicorn's workers (`--workers N`)
each call `factory` (`uvicorn --factory earpiece.service:factory`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from redis.exceptions import RedisError
from starlette.applications import Starlette

from access.liveness import Liveness
from access.oidc import OidcVerifier
from access.sessions import SessionStore
from callbacks import media_stream
from callbacks.app import service
from callbacks.audio_relay import AudioRelay
from callbacks.context import Context
from callbacks.shares import Shares
from callbacks.signature import SignatureChecker
from coach import reconciler
from coach.actions import Coach
from core import metrics
from core.redis_client import AsyncRedis, RedisTarget, resolve
from core.settings import Settings, load
from core.tasks import cancel_all, pause
from core.twilio_client import CONNECTION_OVERRIDES
from earpiece.services import build
from live import history, ticker
from live import roster as roster_module
from live.board_hub import BoardHub
from live.feed import FeedHub
from live.model import Json
from live.store import LiveFloor, now_ms

log = logging.getLogger("earpiece.callbacks")

REQUIRED = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL", "EARPIECE_API_TOKEN")

# Collector policy of a service process. Everything made at start (modules,
# app, roster, clients) lives as long as the process, so it is frozen out of
# the scans. A floor read builds tens of thousands of small dicts that all
# survive until the answer is written; with CPython's default threshold (700)
# that one read triggers hundreds of collections, each rescanning the
# survivors (bench/floor_memory.py measured ~30% of a 10,000-call read).
GC_THRESHOLDS = (50_000, 20, 20)


def tune_gc() -> None:
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


# How long the warm-up waits for the board hub's first pass at most (a process where nobody
# watches and that does not tick makes none).
WARM_AFTER_SECONDS = 10.0


async def _warm(floor: LiveFloor, board: BoardHub) -> None:
    """Render the floor once at start, so the first reader after a restart is not the one
    who pays for rendering thousands of calls (later reads re-render only what changed).

    After the board hub's first pass: at a restart every dashboard reconnects at once, and
    a second whole read of a 10,000-call floor beside the hub's own took the CPU its first
    boards needed (issue 29)."""
    await board.next_pass(0, WARM_AFTER_SECONDS)
    try:
        await floor.conferences()
    except RedisError as exc:
        log.info("did not warm the floor at start: %s", exc)


async def _sweep(coach: Coach, every: float) -> None:
    """Clear supervisor legs stuck dialing (every process may do it: it is idempotent)."""
    while True:
        await pause(every)
        try:
            await coach.sweep_dialing()
        except Exception:
            log.warning("sweeping dialing legs failed; will retry", exc_info=True)


async def _sample(floor: LiveFloor, kept: history.Kept) -> None:
    """Record the live calls per team once a bucket, for the dashboard's chart (from the
    board hub's floor where it keeps one)."""
    while True:
        try:
            await history.sample(floor, kept=kept)
        except RedisError as exc:
            log.info("could not sample the floor's history: %s", exc)
        await pause(history.BUCKET_SECONDS - (now_ms() / 1000) % history.BUCKET_SECONDS)


def every_tick(*parts: ticker.Also) -> ticker.Also:
    """Several once-a-second jobs on one read of the floor; each one's failure is its own."""

    async def run(conferences: list[Json]) -> None:
        for part in parts:
            try:
                await part(conferences)
            except RedisError as exc:
                log.info("a once-a-second job could not run: %s", exc)
            except Exception:
                log.warning("a once-a-second job failed; will retry", exc_info=True)

    return run


def oidc_verifier(
    settings: Settings, roster: roster_module.Roster, redis: AsyncRedis
) -> OidcVerifier | None:
    if not settings.oidc_issuer or not settings.oidc_audience:
        return None
    return OidcVerifier(
        settings.oidc_issuer,
        settings.oidc_audience,
        settings.oidc_claim,
        roster,
        redis=redis,
        namespace=settings.namespace,
        max_token_seconds=settings.oidc_max_token_seconds,
    )


def sessions(settings: Settings, redis: AsyncRedis) -> SessionStore | None:
    """The dashboard's sessions, as a credential of the API (with EARPIECE_SESSION_SECRET)."""
    if not settings.session_secret:
        return None
    return SessionStore(
        redis, settings.namespace, settings.session_secret, settings.session_hours * 3600
    )


def create_app(settings: Settings | None = None, target: RedisTarget | None = None) -> Starlette:
    settings = settings or load()
    settings.require(*REQUIRED)
    roster = roster_module.for_settings(settings)
    target = target or resolve(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = build(settings, target, roster)
        redis, floor, coach = services.redis, services.floor, services.coach
        hub = FeedHub(floor, queue_size=settings.sse_queue_size, reader=services.queues.changed)
        board = BoardHub(
            floor,
            hub,
            period=settings.dashboard_refresh_seconds,
            mask=True,
            country=settings.country,
            queues=services.queues,
        )
        app.state.ctx = Context(
            settings=settings,
            redis=redis,
            floor=floor,
            hub=hub,
            board=board,
            signature=SignatureChecker(
                settings.auth_token,
                settings.base_url,
                settings.webhook_shared_keys,
                fragments=(CONNECTION_OVERRIDES,),
            ),
            coach=coach,
            queues=services.queues,
            roster=roster,
            transcripts=services.transcripts,
            transcription=services.transcription,
            recording=services.recording,
            store=services.store,
            liveness=Liveness(redis, settings.namespace),
            shares=Shares(settings.streams_per_person, settings.board_views_per_person),
            oidc=oidc_verifier(settings, roster, redis),
            agent_state=services.agent_state,
            call_control=services.call_control,
            sessions=sessions(settings, redis),
        )
        app.state.media = services.media
        app.state.relay = relay = AudioRelay(redis, floor.keys.tag)
        app.state.ws_signature = media_stream.ws_checker(
            settings.auth_token, settings.base_url, settings.webhook_shared_keys
        )
        await hub.start()
        await board.start()
        metrics.SSE_CLIENTS.set_function(lambda: hub.subscribers)
        metrics.BOARD_WATCHERS.set_function(lambda: board.watchers)
        metrics.BOARD_VIEWS.set_function(lambda: len(board.views))
        metrics.BOARD_PASS_SECONDS.set_function(lambda: board.pass_ms / 1000)
        metrics.BOARD_PASS_CPU_SECONDS.set_function(lambda: board.pass_cpu_ms / 1000)
        metrics.BOARD_FLOOR_READS.set_function(lambda: board.loads)
        warming = asyncio.create_task(_warm(floor, board), name="earpiece-warm-floor")
        sweeper = asyncio.create_task(
            _sweep(coach, settings.sweep_seconds), name="earpiece-dialing-sweeper"
        )
        sampler = asyncio.create_task(
            _sample(floor, board.kept_now), name="earpiece-history-sampler"
        )
        reconciling = asyncio.create_task(
            reconciler.run_forever(services.reconciler), name="earpiece-reconciler"
        )
        # Once a second, one process: alerts that moved with the clock, then the guard.
        ticking = asyncio.create_task(
            ticker.run_forever(
                floor,
                also=every_tick(
                    services.guard.run_once,
                    services.transcription.run_once,
                    services.recording.run_once,
                    services.media.run_once,
                ),
                feed_max_age_seconds=settings.feed_max_age_seconds,
                # The board hub's floor kept from the feed, not every document each tick.
                source=board.floor_now,
            ),
            name="earpiece-ticker",
        )
        archiving = asyncio.create_task(services.archiver.run_forever(), name="earpiece-archive")
        tune_gc()
        try:
            yield
        finally:
            await cancel_all([sweeper, sampler, reconciling, ticking, warming, archiving])
            await relay.close()
            await board.stop()
            await hub.stop()
            await services.close()

    return service(lifespan)


def factory() -> Starlette:
    """For `uvicorn --factory earpiece.service:factory` (several workers)."""
    return create_app()
