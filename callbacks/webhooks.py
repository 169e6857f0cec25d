"""Twilio-facing endpoints: signed, form-encoded status callbacks.

This is the hot path (FIELD-NOTES 5: every join, mute, hold and speech
start/stop posts here), so it reads the body once, parses it with a plain
urlencoded parser rather than Starlette's multipart-capable form parser,
checks the signature with one HMAC and applies the event in one Redis round
trip (shared with the other callbacks in flight, see live/batching.py).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from callbacks.context import Context
from callbacks.errors import ApiError, error_response
from callbacks.forms import parse_form
from live.events import BadEvent, parse_conference_event
from live.store import now_ms

_OUTCOME_BODIES = {
    outcome: b'{"outcome":"%s"}' % outcome.encode()
    for outcome in ("applied", "unchanged", "duplicate", "stale")
}


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "too-large", f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "too-large", f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def signed_params(request: Request, ctx: Context) -> dict[str, str]:
    """The POST parameters of a request that Twilio signed; 403 for anything else."""
    body = await read_body(request, ctx.settings.max_body_bytes)
    signature = request.headers.get("x-twilio-signature", "")
    try:
        pairs = parse_form(body)
    except UnicodeDecodeError:
        pairs = None
    query = request.scope["query_string"].decode("latin-1")
    if pairs is None or not ctx.signature.valid(request.scope["path"], query, pairs, signature):
        raise ApiError(403, "bad-signature", "X-Twilio-Signature is missing or does not match")
    return dict(pairs)


async def conference_events(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    params = await signed_params(request, ctx)
    try:
        event = parse_conference_event(
            params, now_ms(), request.headers.get("i-twilio-idempotency-token")
        )
    except BadEvent as exc:
        return error_response(400, "bad-callback", str(exc))
    result = await ctx.floor.apply(event)
    return Response(_OUTCOME_BODIES[result.outcome], 200, media_type="application/json")
