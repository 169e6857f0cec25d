"""The JSON API's supervisor actions and the audit trail.

POST   /api/conferences/{sid}/monitors               {"supervisor", "mode", "takeover"?}
PATCH  /api/conferences/{sid}/monitors/{supervisor}  {"mode", "takeover"?}
DELETE /api/conferences/{sid}/monitors/{supervisor}
GET    /api/audit[.csv]?supervisor=&agent=&conference=&since=&limit=
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from callbacks.auth import require_token
from callbacks.context import Context
from callbacks.errors import ApiError, JSONResponse
from coach.audit import AuditFilter, to_csv

MAX_AUDIT_LIMIT = 10_000


async def body_of(request: Request, required: tuple[str, ...]) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise ApiError(422, "bad-body", "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ApiError(422, "bad-body", "the body must be a JSON object")
    for name in required:
        if not isinstance(body.get(name), str) or not body[name]:
            raise ApiError(422, "bad-body", f"{name} is required (a string)")
    if not isinstance(body.get("takeover", False), bool):
        raise ApiError(422, "bad-body", "takeover must be true or false")
    return body


async def join(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    body = await body_of(request, ("supervisor", "mode"))
    monitor = await ctx.coach.join(
        request.path_params["sid"],
        body["supervisor"],
        body["mode"],
        body.get("takeover", False),
    )
    return JSONResponse(monitor, 201)


async def switch(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    body = await body_of(request, ("mode",))
    monitor = await ctx.coach.switch(
        request.path_params["sid"], request.path_params["supervisor"], body["mode"],
        body.get("takeover", False),
    )  # fmt: skip
    return JSONResponse(monitor)


async def leave(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    await ctx.coach.leave(request.path_params["sid"], request.path_params["supervisor"])
    return Response(status_code=204)


def _filter(request: Request) -> AuditFilter:
    query = request.query_params
    since_ms = None
    if query.get("since"):
        try:
            since_ms = int(
                datetime.fromisoformat(query["since"].replace("Z", "+00:00")).timestamp() * 1000
            )
        except ValueError:
            raise ApiError(422, "bad-since", "since must be an ISO 8601 time") from None
    try:
        limit = int(query.get("limit", "500"))
    except ValueError:
        raise ApiError(422, "bad-limit", "limit must be a whole number") from None
    if not 1 <= limit <= MAX_AUDIT_LIMIT:
        raise ApiError(422, "bad-limit", f"limit must be between 1 and {MAX_AUDIT_LIMIT}")
    return AuditFilter(
        supervisor=query.get("supervisor") or None, agent=query.get("agent") or None,
        conference_sid=query.get("conference") or None, since_ms=since_ms, limit=limit,
    )  # fmt: skip


async def audit(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    return JSONResponse({"entries": await ctx.coach.audit.entries(_filter(request))})


async def audit_csv(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    entries = await ctx.coach.audit.entries(_filter(request))
    return Response(
        to_csv(entries), media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="earpiece-audit.csv"'},
    )  # fmt: skip
