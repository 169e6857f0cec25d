"""The callback service's Starlette app.

Settings are read and checked before the app is built (a missing one stops
the start with one line); the Redis client, the live floor and the feed's
fan-out are made once in the lifespan and closed there.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route, WebSocketRoute

from access.liveness import Liveness
from access.oidc import OidcVerifier
from access.sessions import SessionStore
from callbacks import (
    api,
    assist,
    auth,
    board_stream,
    floor_ops,
    history_api,
    listen,
    media_stream,
    monitors,
    queues_api,
    stream,
    taskrouter_webhook,
    transcript_stream,
    transcripts,
    twiml,
    webhooks,
)
from callbacks.audio_relay import AudioRelay
from callbacks.context import Context
from callbacks.errors import HANDLERS
from callbacks.shares import Shares
from callbacks.signature import SignatureChecker
from coach import reconciler
from coach.actions import Coach
from core import metrics
from core.redis_client import AsyncRedis, RedisTarget, resolve
from core.settings import Settings, load
from core.tasks import cancel_all
from core.twilio_client import CONNECTION_OVERRIDES
from live import history, ticker
from live import roster as roster_module
from live.board_hub import BoardHub
from live.feed import FeedHub
from live.model import Json
from live.store import LiveFloor, now_ms
from wiring.services import build

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
        await asyncio.sleep(every)
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
        await asyncio.sleep(history.BUCKET_SECONDS - (now_ms() / 1000) % history.BUCKET_SECONDS)


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


def routes() -> list[BaseRoute]:
    return [
        Route("/twilio/conference-events", webhooks.conference_events, methods=["POST"]),
        Route("/twilio/call-events", webhooks.call_events, methods=["POST"]),
        Route("/twilio/taskrouter-events", taskrouter_webhook.taskrouter_events, methods=["POST"]),
        Route("/twilio/transcription-events", transcripts.events, methods=["GET", "POST"]),
        Route("/twilio/recording-events", history_api.events, methods=["GET", "POST"]),
        Route("/api/history", history_api.history, methods=["GET"]),
        Route("/api/history/{sid}", history_api.one_call, methods=["GET"]),
        Route("/api/history/{sid}/recordings/{recording}", history_api.audio, methods=["GET"]),
        Route("/api/history/{sid}/reviews", history_api.add_review, methods=["POST"]),
        Route("/api/reviews", history_api.reviews, methods=["GET"]),
        Route("/api/reviews.csv", history_api.reviews_export, methods=["GET"]),
        Route("/twilio/twiml/customer", twiml.customer_twiml, methods=["GET", "POST"]),
        Route("/twilio/twiml/agent", twiml.agent_twiml, methods=["GET", "POST"]),
        Route("/api/conferences", api.list_conferences, methods=["GET"]),
        Route("/api/conferences/{sid}", api.get_conference, methods=["GET"]),
        Route("/api/calls/{call_sid}", api.get_call, methods=["GET"]),
        Route("/api/conferences/{sid}/transcript", transcripts.transcript, methods=["GET"]),
        Route("/api/conferences/{sid}/transcript/pause", transcripts.pause, methods=["POST"]),
        Route("/api/conferences/{sid}/transcript/pause", transcripts.resume, methods=["DELETE"]),
        Route("/api/calls/{call_sid}/transcript/pause", transcripts.pause, methods=["POST"]),
        Route("/api/calls/{call_sid}/transcript/pause", transcripts.resume, methods=["DELETE"]),
        Route("/api/conferences/{sid}/phrases/mute", transcripts.mute_phrases, methods=["POST"]),
        Route("/api/conferences/{sid}/monitors", monitors.join, methods=["POST"]),
        Route("/api/conferences/{sid}/monitors/{supervisor}", monitors.switch, methods=["PATCH"]),
        Route("/api/conferences/{sid}/monitors/{supervisor}", monitors.leave, methods=["DELETE"]),
        Route("/api/calls/{call_sid}/help", assist.ask_help, methods=["POST"]),
        Route("/api/calls/{call_sid}/help", assist.cancel_help, methods=["DELETE"]),
        Route("/api/calls/{call_sid}/cards", assist.send_card, methods=["POST"]),
        Route("/api/supervisors/{supervisor}/follow", assist.follow, methods=["PUT"]),
        Route("/api/supervisors/{supervisor}/follow", assist.unfollow, methods=["DELETE"]),
        Route("/api/follows", assist.follows, methods=["GET"]),
        Route("/api/queues", queues_api.list_queues, methods=["GET"]),
        Route("/api/agents", queues_api.list_agents, methods=["GET"]),
        Route("/api/activities", floor_ops.activities, methods=["GET"]),
        Route("/api/agents/{agent}/activity", floor_ops.set_activity, methods=["PUT"]),
        Route("/api/agents/{agent}/activity/pending", floor_ops.cancel_pending, methods=["DELETE"]),
        Route("/api/agents/{agent}/wrap-up/complete", floor_ops.complete_wrap_up, methods=["POST"]),
        Route("/api/conferences/{sid}/end", floor_ops.end_call, methods=["POST"]),
        Route(
            "/api/conferences/{sid}/participants/{call_sid}",
            floor_ops.remove_leg,
            methods=["DELETE"],
        ),
        Route("/api/audit", monitors.audit, methods=["GET"]),
        Route("/api/audit.csv", monitors.audit_csv, methods=["GET"]),
        Route("/api/events/ticket", auth.issue_ticket, methods=["POST"]),
        Route("/events", stream.events, methods=["GET"]),
        Route("/events/board", board_stream.board_events, methods=["GET"]),
        Route("/events/board", board_stream.options, methods=["OPTIONS"]),
        Route("/events/transcript", transcript_stream.transcript_events, methods=["GET"]),
        Route("/events/transcript", board_stream.options, methods=["OPTIONS"]),
        Route("/api/conferences/{sid}/listen", listen.issue, methods=["POST"]),
        WebSocketRoute(listen.PATH, listen.listen_socket),
        WebSocketRoute(media_stream.PATH, media_stream.media_stream),
        Route("/healthz", api.healthz, methods=["GET"]),
        Route("/metrics", api.prometheus, methods=["GET"]),
    ]


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

    return Starlette(routes=routes(), exception_handlers=HANDLERS, lifespan=lifespan)


def factory() -> Starlette:
    """For `uvicorn --factory callbacks.app:factory` (several workers)."""
    return create_app()
