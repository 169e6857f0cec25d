"""The baseline: a bare Starlette endpoint that reads the body and answers 204."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def receive(request: Request) -> Response:
    await request.body()
    return Response(status_code=204)


async def ready(request: Request) -> Response:
    return Response(status_code=200)


app = Starlette(
    routes=[
        Route("/twilio/conference-events", receive, methods=["POST"]),
        Route("/ready", ready, methods=["GET"]),
    ]
)
