"""The JSON API's supervisor actions and the audit trail.

POST   /api/conferences/{sid}/monitors               {"supervisor", "mode", "takeover"?}
PATCH  /api/conferences/{sid}/monitors/{supervisor}  {"mode", "takeover"?}
DELETE /api/conferences/{sid}/monitors/{supervisor}
GET    /api/audit[.csv]?supervisor=&agent=&conference=&since=&limit=
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from access.policy import ACT, READ_AUDIT, acting_as, may_see_audit_entry
from access.principal import Principal
from callbacks.auth import authorize
from callbacks.context import Context
from callbacks.errors import PRIVATE, ApiError, JSONResponse
from core.audit import AuditFilter, to_csv
from core.floor_clock import FloorClock

MAX_AUDIT_LIMIT = 10_000


async def bounded_body(request: Request) -> bytes:
    """The request's body, refused (413) past EARPIECE_API_MAX_BODY_BYTES before it is all read."""
    ctx: Context = request.app.state.ctx
    limit = ctx.settings.api_max_body_bytes
    too_large = ApiError(413, "too-large", f"the body is larger than {limit} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def json_object(request: Request) -> dict[str, Any]:
    """The request's body: a JSON object of bounded size (413, 422 otherwise)."""
    try:
        body = orjson.loads(await bounded_body(request))
    except orjson.JSONDecodeError as exc:
        # Where it is not JSON, said (a trial's score of 1e999 read only "must be a JSON
        # object": JSON has no number that large).
        where = f"{exc.msg} at character {exc.pos}"
        raise ApiError(422, "bad-body", f"the body must be a JSON object ({where})") from None
    if not isinstance(body, dict):
        raise ApiError(422, "bad-body", "the body must be a JSON object")
    return body


def text_field(body: dict[str, Any], name: str) -> str:
    """A body's required text: present, a string, and more than blanks, or a 422 that says
    which of those it is not (a card of "" is refused as empty, not as missing)."""
    value = body.get(name)
    if value is None:
        raise ApiError(422, "bad-body", f"{name} is required")
    if not isinstance(value, str):
        raise ApiError(422, "bad-body", f"{name} must be a string")
    if not value.strip():
        raise ApiError(422, "bad-body", f"{name} must not be empty")
    return value


async def body_of(request: Request, required: tuple[str, ...]) -> dict[str, Any]:
    body = await json_object(request)
    for name in required:
        text_field(body, name)
    if not isinstance(body.get("takeover", False), bool):
        raise ApiError(422, "bad-body", "takeover must be true or false")
    return body


def named(body: dict[str, Any], field: str) -> str | None:
    """A body's optional `supervisor`: if given, it must be a string (and the caller)."""
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise ApiError(422, "bad-body", f"{field} must be a string")
    return value


async def join(request: Request) -> Response:
    principal = await authorize(request, ACT)
    ctx: Context = request.app.state.ctx
    body = await body_of(request, ("mode",))
    monitor = await ctx.coach.join(
        request.path_params["sid"],
        acting_as(principal, named(body, "supervisor")),
        body["mode"],
        body.get("takeover", False),
    )
    return JSONResponse(monitor, 201)


async def switch(request: Request) -> Response:
    principal = await authorize(request, ACT)
    ctx: Context = request.app.state.ctx
    ident = acting_as(principal, request.path_params["supervisor"])
    body = await body_of(request, ("mode",))
    monitor = await ctx.coach.switch(
        request.path_params["sid"],
        ident,
        body["mode"],
        body.get("takeover", False),
    )
    return JSONResponse(monitor)


async def leave(request: Request) -> Response:
    principal = await authorize(request, ACT)
    ctx: Context = request.app.state.ctx
    ident = acting_as(principal, request.path_params["supervisor"])
    await ctx.coach.leave(request.path_params["sid"], ident)
    return Response(status_code=204)


def _filter(request: Request, principal: Principal) -> AuditFilter:
    ctx: Context = request.app.state.ctx
    query = request.query_params
    since_ms = None
    if query.get("since"):
        # Without an offset, the floor's time (EARPIECE_TIMEZONE); before, the server's own.
        try:
            since_ms = FloorClock(ctx.settings.timezone).read_ms(query["since"])
        except (ValueError, OverflowError):
            raise ApiError(422, "bad-since", "since must be an ISO 8601 time") from None
        since_ms = max(0, since_ms)  # before 1970 is everything kept
    try:
        limit = int(query.get("limit", "500"))
    except ValueError:
        raise ApiError(422, "bad-limit", "limit must be a whole number") from None
    if not 1 <= limit <= MAX_AUDIT_LIMIT:
        raise ApiError(422, "bad-limit", f"limit must be between 1 and {MAX_AUDIT_LIMIT}")
    return AuditFilter(
        supervisor=query.get("supervisor") or None,
        agent=query.get("agent") or None,
        conference_sid=query.get("conference") or None,
        since_ms=since_ms,
        limit=limit,
        visible=lambda e: may_see_audit_entry(
            principal, ctx.roster.team_of_agent.get(e["agent"]), e["supervisor"]
        ),
    )


async def audit(request: Request) -> Response:
    principal = await authorize(request, READ_AUDIT)
    ctx: Context = request.app.state.ctx
    return JSONResponse({"entries": await ctx.coach.audit.entries(_filter(request, principal))})


async def audit_csv(request: Request) -> Response:
    principal = await authorize(request, READ_AUDIT)
    ctx: Context = request.app.state.ctx
    entries = await ctx.coach.audit.entries(_filter(request, principal))
    return Response(
        to_csv(entries, ctx.settings.timezone),
        media_type="text/csv",
        headers={**PRIVATE, "Content-Disposition": 'attachment; filename="earpiece-audit.csv"'},
    )
