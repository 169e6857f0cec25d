"""The JSON API's read side and the health check."""

from __future__ import annotations

import asyncio
import time

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response

from callbacks.auth import require_token
from callbacks.context import Context
from callbacks.errors import ApiError, JSONResponse
from earpiece import metrics
from live import attention

HEALTH_TIMEOUT_SECONDS = 1.0


async def list_conferences(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    conferences = await ctx.floor.conferences()
    order = request.query_params.get("order", "started")
    if order == "attention":
        conferences = attention.order(conferences, time.time())
    elif order != "started":
        raise ApiError(422, "bad-order", "order must be started or attention")
    return JSONResponse({"conferences": conferences})


async def prometheus(request: Request) -> Response:
    """Prometheus text format; open like /healthz (counts only, no call data)."""
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)


async def get_conference(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    sid = request.path_params["sid"]
    conference = await ctx.floor.conference(sid)
    if conference is None:
        raise ApiError(404, "unknown-conference", f"no conference {sid}")
    return JSONResponse(conference)


async def get_call(request: Request) -> Response:
    """Where a call is. `?wait=N` waits up to N seconds for its join callback (FIELD-NOTES 3)."""
    require_token(request)
    ctx: Context = request.app.state.ctx
    call_sid = request.path_params["call_sid"]
    raw_wait = request.query_params.get("wait", "0")
    try:
        wait = float(raw_wait)
    except ValueError:
        raise ApiError(
            422, "bad-wait", f"wait must be a number of seconds, got {raw_wait!r}"
        ) from None
    if not 0 <= wait <= ctx.settings.call_wait_max_seconds:
        raise ApiError(
            422, "bad-wait", f"wait must be between 0 and {ctx.settings.call_wait_max_seconds:g}"
        )
    deadline = time.monotonic() + wait
    while True:
        found = await ctx.floor.call(call_sid)
        if found is not None:
            return JSONResponse(found)
        left = deadline - time.monotonic()
        if left <= 0:
            raise ApiError(404, "unknown-call", f"call {call_sid} is not in a live conference")
        await ctx.hub.wait_for_change(left)


async def healthz(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    try:
        await asyncio.wait_for(ctx.floor.ping(), HEALTH_TIMEOUT_SECONDS)
    except (RedisError, OSError, TimeoutError) as exc:
        return JSONResponse(
            {
                "redis": "unreachable",
                "error": {"code": "redis-unavailable", "message": f"Redis does not answer: {exc}"},
            },
            503,
        )
    return JSONResponse({"redis": "ok"})
