"""`GET /api/queues` and `GET /api/agents`: the TaskRouter floor, as the contract shapes it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from access.policy import READ_FLOOR
from callbacks.auth import authorize
from callbacks.context import Context
from callbacks.errors import ApiError, JSONResponse


def _ordered(request: Request, items: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """`?order=attention`: the ones that need a supervisor first (live.attention's weights)."""
    order = request.query_params.get("order", "name")
    if order == "attention":
        return sorted(items, key=lambda i: (-i["attention"], i[name] or ""))
    if order != "name":
        raise ApiError(422, "bad-order", "order must be name or attention")
    return items


async def list_queues(request: Request) -> Response:
    await authorize(request, READ_FLOOR)
    ctx: Context = request.app.state.ctx
    queues = _ordered(request, await ctx.queues.queues(), "name")
    return JSONResponse({"queues": queues})


async def list_agents(request: Request) -> Response:
    await authorize(request, READ_FLOOR)
    ctx: Context = request.app.state.ctx
    agents = _ordered(request, await ctx.queues.agents(), "name")
    return JSONResponse({"agents": agents})
