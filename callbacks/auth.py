"""Bearer-token check for /api/* and /events."""

from __future__ import annotations

import hmac

from starlette.requests import Request

from callbacks.context import Context
from callbacks.errors import ApiError


def require_token(request: Request, allow_query: bool = False) -> None:
    ctx: Context = request.app.state.ctx
    expected = ctx.settings.bearer_token
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        given = request.query_params.get("token", "") if allow_query else ""
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(
            401,
            "unauthorized",
            "a valid bearer token is required",
            {"WWW-Authenticate": 'Bearer realm="earpiece"'},
        )
