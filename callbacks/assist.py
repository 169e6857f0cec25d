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
from callbacks.errors import ApiError, JSONResponse
from callbacks.monitors import body_of
from coach.errors import CoachError


def _error(exc: CoachError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message)


async def ask_help(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    try:
        asked = await ctx.coach.ask_help(request.path_params["call_sid"])
    except CoachError as exc:
        raise _error(exc) from None
    return JSONResponse(asked, 201)


async def cancel_help(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    try:
        await ctx.coach.cancel_help(request.path_params["call_sid"])
    except CoachError as exc:
        raise _error(exc) from None
    return Response(status_code=204)


async def send_card(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    body = await body_of(request, ("supervisor", "text"))
    try:
        card = await ctx.coach.send_card(
            request.path_params["call_sid"], body["supervisor"], body["text"]
        )
    except CoachError as exc:
        raise _error(exc) from None
    return JSONResponse(card, 201)


async def follow(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    body = await body_of(request, ("agent",))
    try:
        done = await ctx.coach.follow(request.path_params["supervisor"], body["agent"])
    except CoachError as exc:
        raise _error(exc) from None
    return JSONResponse(done)


async def unfollow(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    try:
        await ctx.coach.follow(request.path_params["supervisor"], None)
    except CoachError as exc:
        raise _error(exc) from None
    return Response(status_code=204)


async def follows(request: Request) -> Response:
    require_token(request)
    ctx: Context = request.app.state.ctx
    return JSONResponse({"follows": await ctx.floor.follows()})
