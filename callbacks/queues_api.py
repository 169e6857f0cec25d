"""`GET /api/queues` and `GET /api/agents`: the TaskRouter floor, as the contract shapes it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from callbacks.auth import require_token
from callbacks.context import Context
from callbacks.errors import JSONResponse


async def list_queues(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    return JSONResponse(
        {"queues": await ctx.queues.queues()}, headers={"Cache-Control": "no-store"}
    )


async def list_agents(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    return JSONResponse(
        {"agents": await ctx.queues.agents()}, headers={"Cache-Control": "no-store"}
    )
