"""The callback service's routes: every URL it answers, with its error handlers.

Only what is answered lives here. The process that answers (settings checked, the Redis
client, the floor, the coach, the feed's fan-out and the once-a-second jobs, made once in
the lifespan and closed there) is assembled one floor up, in earpiece/service.py: the
commands' floor, the only one that may import every part.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route, WebSocketRoute

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
from callbacks.errors import HANDLERS
from callbacks.hot_path import HotPathStarlette
from callbacks.webhooks import SignedWebhook

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


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


def service(lifespan: Lifespan) -> Starlette:
    """The service's app: these routes, its error handlers, and the given lifespan (which puts
    a `callbacks.context.Context` on `app.state.ctx` before the first request)."""
    return HotPathStarlette(
        routes=routes(), exception_handlers=HANDLERS, lifespan=lifespan, hot=HOT
    )


# Twilio's callbacks (every signed webhook POSTed to), the bulk of what the service answers:
# straight to their endpoint (callbacks/hot_path.py); routes() answers their other methods.
HOT = {
    route.path: route.app
    for route in routes()
    if isinstance(route, Route)
    and isinstance(route.app, SignedWebhook)
    and "POST" in (route.methods or ())
}
