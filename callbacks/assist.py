"""Help requests from agents' softphones, text whisper cards, and follow-agent.

POST   /api/calls/{call_sid}/help                 an agent asks for help (the `help` alert)
DELETE /api/calls/{call_sid}/help                 the agent no longer needs it
POST   /api/calls/{call_sid}/cards                {"supervisor", "text"}: a card to the agent
PUT    /api/supervisors/{supervisor}/follow       {"agent"}: join the agent's next calls
DELETE /api/supervisors/{supervisor}/follow
GET    /api/follows                               {"follows": {supervisor: agent}}
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from access.policy import ACT, ASK_HELP, READ_FLOOR, acting_as, own_call
from callbacks.auth import authorize
from callbacks.context import Context
from callbacks.errors import JSONResponse
from callbacks.monitors import body_of, named


async def _own_call(request: Request) -> None:
    """An agent asks for help on its own leg only (a call not live is the coach's 404)."""
    principal = await authorize(request, ASK_HELP)
    ctx: Context = request.app.state.ctx
    found = await ctx.floor.call(request.path_params["call_sid"])
    if found is not None:
        own_call(principal, found.get("label"))


async def ask_help(request: Request) -> Response:
    await _own_call(request)
    ctx: Context = request.app.state.ctx
    asked = await ctx.coach.ask_help(request.path_params["call_sid"])
    return JSONResponse(asked, 201)


async def cancel_help(request: Request) -> Response:
    await _own_call(request)
    ctx: Context = request.app.state.ctx
    await ctx.coach.cancel_help(request.path_params["call_sid"])
    return Response(status_code=204)


async def send_card(request: Request) -> Response:
    principal = await authorize(request, ACT)
    ctx: Context = request.app.state.ctx
    body = await body_of(request, ("text",))
    ident = acting_as(principal, named(body, "supervisor"))
    card = await ctx.coach.send_card(request.path_params["call_sid"], ident, body["text"])
    return JSONResponse(card, 201)


async def follow(request: Request) -> Response:
    principal = await authorize(request, ACT)
    ctx: Context = request.app.state.ctx
    ident = acting_as(principal, request.path_params["supervisor"])
    body = await body_of(request, ("agent",))
    done = await ctx.coach.follow(ident, body["agent"])
    return JSONResponse(done)


async def unfollow(request: Request) -> Response:
    principal = await authorize(request, ACT)
    ctx: Context = request.app.state.ctx
    await ctx.coach.follow(acting_as(principal, request.path_params["supervisor"]), None)
    return Response(status_code=204)


async def follows(request: Request) -> Response:
    await authorize(request, READ_FLOOR)
    ctx: Context = request.app.state.ctx
    return JSONResponse({"follows": await ctx.floor.follows()})
