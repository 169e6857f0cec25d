"""Who is asking: the bearer token for /api/* and /events, or a one-time ticket."""

from __future__ import annotations

import hmac

from starlette.requests import Request

from callbacks.context import Context
from callbacks.errors import ApiError, JSONResponse
from earpiece import tickets
from earpiece.tickets import Holder

SERVICE = Holder("service", None)


def _refuse(message: str = "a valid bearer token is required") -> ApiError:
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": 'Bearer realm="earpiece"'})


def require_token(request: Request, allow_query: bool = False) -> None:
    ctx: Context = request.app.state.ctx
    expected = ctx.settings.bearer_token
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        given = request.query_params.get("token", "") if allow_query else ""
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise _refuse()


async def holder_of(request: Request, allow_ticket: bool = False) -> Holder:
    """The bearer token's holder, or, where a stream allows it, a one-time ticket's."""
    ctx: Context = request.app.state.ctx
    ticket = request.query_params.get("ticket") if allow_ticket else None
    if ticket is None:
        require_token(request)
        return SERVICE
    holder = await tickets.redeem(ctx.redis, ctx.settings.namespace, ticket)
    if holder is None:
        raise _refuse("the ticket is unknown, used or expired: ask for a new one")
    return holder


async def issue_ticket(request: Request) -> JSONResponse:
    """`POST /api/events/ticket`: one stream's worth of the caller's credential, for a URL."""
    require_token(request)
    ctx: Context = request.app.state.ctx
    ticket = await tickets.issue(ctx.redis, ctx.settings.namespace, SERVICE)
    return JSONResponse(ticket.json(), 201)
