"""Twilio-facing endpoints: signed, form-encoded status callbacks.

This is the hot path (FIELD-NOTES 5: every join, mute, hold and speech
start/stop posts here), so each endpoint is a plain ASGI app under
Starlette's router rather than a request/response function: it reads the
body straight from `receive`, parses it with a plain urlencoded parser (not
Starlette's multipart-capable form parser), checks the signature with one
HMAC and applies the event in one Redis round trip shared with the other
callbacks in flight (live/batching.py). Bench/ingest.py measured what each
of these saves.

Errors are raised, not answered here: the app's exception handlers turn ApiError
and RedisError into the same JSON answers as everywhere else (for a POST these
endpoints are reached past Starlette's middleware and router, and
callbacks/hot_path.py calls the handlers as the middleware would).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send

from callbacks.context import Context
from callbacks.errors import ApiError
from callbacks.forms import parse_form
from core import metrics
from live.events import CONFERENCE_EVENTS, BadEvent, is_sid, parse_conference_event
from live.queues import TASK_PREFIX
from live.store import now_ms


class SignedRequest:
    """What a webhook handler gets: the signed parameters and the headers it may need."""

    __slots__ = ("context", "idempotency_token", "params", "query")

    def __init__(
        self,
        context: Context,
        params: dict[str, str],
        idempotency_token: str | None,
        query: str = "",
    ) -> None:
        self.context = context
        self.params = params
        self.idempotency_token = idempotency_token
        self.query = query  # the raw query string (signed with the URL)


# A handler returns its outcome, one word (applied, duplicate, removed, ...),
# answered as 204 with the outcome in a header; or a whole answer (TwiML).
Handler = Callable[[SignedRequest], Awaitable["str | Answer"]]


class Answer:
    """A webhook answer with a body (TwiML for Twilio to run)."""

    __slots__ = ("body", "media_type")

    def __init__(self, body: bytes, media_type: str) -> None:
        self.body = body
        self.media_type = media_type


class SignedWebhook:
    """An ASGI endpoint that admits only requests Twilio signed, then calls its handler."""

    def __init__(self, handler: Handler, *, no_content_type: str | None = None) -> None:
        self.handler = handler
        # The Content-Type of the bodiless 204, for a sender that asks for one (TaskRouter).
        self.no_content_type = no_content_type.encode() if no_content_type else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx: Context = scope["app"].state.ctx
        limit = ctx.settings.max_body_bytes
        signature = declared = token = signing = None
        for name, value in scope["headers"]:
            if name == b"x-twilio-signature":
                signature = value.decode("latin-1")
            elif name == b"x-twilio-webhooks-signature-settings":
                signing = value.decode("latin-1")
            elif name == b"content-length":
                declared = value
            elif name == b"i-twilio-idempotency-token":
                token = value.decode("latin-1")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise ApiError(413, "too-large", f"the body is larger than {limit} bytes")
        body = await _read_body(receive, limit)
        try:
            pairs = parse_form(body)
        except UnicodeDecodeError:
            pairs = None
        query = scope["query_string"].decode("latin-1")
        if pairs is None or not ctx.signature.valid(
            scope["path"], query, pairs, signature or "", signing
        ):
            metrics.CALLBACKS.labels("unknown", "bad-signature").inc()
            raise ApiError(403, "bad-signature", "X-Twilio-Signature is missing or does not match")
        # A number (or TwiML App) set to HTTP GET gets Twilio's parameters in the query
        # string instead of the body (and the signature covers them there).
        params = dict(pairs) if scope["method"] != "GET" else dict(parse_qsl(query))
        try:
            outcome = await self.handler(SignedRequest(ctx, params, token, query))
        except ApiError as exc:
            event = params.get("StatusCallbackEvent")
            metrics.CALLBACKS.labels(
                event if event in CONFERENCE_EVENTS else "unknown", exc.code
            ).inc()
            raise
        if isinstance(outcome, Answer):
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", outcome.media_type.encode())],
                }
            )
            await send({"type": "http.response.body", "body": outcome.body})
            return
        # 204 with the outcome in a header: Twilio reads neither, an operator
        # (and the simulator's counts) can, and a bodiless answer is one write.
        headers = [(b"x-earpiece-outcome", outcome.encode())]
        if self.no_content_type is not None:
            headers.append((b"content-type", self.no_content_type))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message: Any = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(400, "disconnected", "the client went away before the body arrived")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "too-large", f"the body is larger than {limit} bytes")
        chunks.append(chunk)
        more = message.get("more_body", False)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def conference_event(request: SignedRequest) -> str:
    try:
        event = parse_conference_event(
            request.params,
            now_ms(),
            request.idempotency_token,
            max_skew_ms=int(request.context.settings.event_skew_seconds * 1000),
        )
    except BadEvent as exc:
        raise ApiError(400, "bad-callback", str(exc)) from None
    started = time.perf_counter()
    ctx = request.context
    result = await ctx.floor.apply(event)
    metrics.APPLY_SECONDS.observe(time.perf_counter() - started)
    metrics.callback(event.event, result.outcome)
    if result.outcome in ("applied", "unchanged") and event.event in COACH_EVENTS:
        if event.call_sid and not event.label and event.friendly_name.startswith(TASK_PREFIX):
            # A conference TaskRouter made labels nobody: the task says who is who.
            event.label = await link_task_conference(
                ctx, event.friendly_name, event.conference_sid, event.call_sid
            )
        ctx.coach.react(event, result.monitors)
    return result.outcome


async def link_task_conference(
    ctx: Context, task_sid: str, conference_sid: str = "", call_sid: str = ""
) -> str | None:
    """Label the customer and agent of a task's conference from the task (live/queues.py);
    an agent newly known is told to the coach (follow-agent). The label of `call_sid`."""
    label, newly, sid = await ctx.queues.link(task_sid, conference_sid, call_sid)
    for leg, leg_label in newly:
        if sid and leg != call_sid and leg_label.startswith("agent:"):
            ctx.coach.agent_identified(sid, leg_label.removeprefix("agent:"))
    return label


# A Call's statuses (Twilio's Call resource, `status`): what a call-progress callback carries.
CALL_STATUSES = frozenset(
    {
        "queued",
        "initiated",
        "ringing",
        "in-progress",
        "answered",
        "completed",
        "busy",
        "failed",
        "no-answer",
        "canceled",
    }
)

# The few events a supervisor's monitor depends on; speech and mute never reach coach.
COACH_EVENTS = frozenset({"participant-join", "participant-leave", "conference-end"})


async def call_event(request: SignedRequest) -> str:
    """Call-progress callbacks of the supervisor legs coach created."""
    call_sid = request.params.get("CallSid")
    status = request.params.get("CallStatus")
    if not call_sid:
        raise ApiError(400, "bad-callback", "CallSid is missing")
    if not is_sid(call_sid, "CA"):
        raise ApiError(400, "bad-callback", f"CallSid is not a call SID: {call_sid[:40]!r}")
    if not status:
        raise ApiError(400, "bad-callback", "CallStatus is missing")
    if status not in CALL_STATUSES:
        raise ApiError(400, "bad-callback", f"CallStatus {status[:40]!r} is not one Twilio sends")
    return await request.context.coach.on_call_status(call_sid, status)


conference_events = SignedWebhook(conference_event)
call_events = SignedWebhook(call_event)
