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

from callbacks.auth import require_token
from callbacks.context import Context
from callbacks.errors import JSONResponse
from callbacks.monitors import body_of


async def ask_help(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    asked = await ctx.coach.ask_help(request.path_params["call_sid"])
    return JSONResponse(asked, 201)


async def cancel_help(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    await ctx.coach.cancel_help(request.path_params["call_sid"])
    return Response(status_code=204)


async def send_card(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    body = await body_of(request, ("supervisor", "text"))
    card = await ctx.coach.send_card(
        request.path_params["call_sid"], body["supervisor"], body["text"]
    )
    return JSONResponse(card, 201)


async def follow(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    body = await body_of(request, ("agent",))
    done = await ctx.coach.follow(request.path_params["supervisor"], body["agent"])
    return JSONResponse(done)


async def unfollow(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    await ctx.coach.follow(request.path_params["supervisor"], None)
    return Response(status_code=204)


async def follows(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    return JSONResponse({"follows": await ctx.floor.follows()})
