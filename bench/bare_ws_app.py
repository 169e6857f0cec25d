"""The baseline of bench/listen.py: a bare WebSocket relay with nothing of Earpiece's.

`/twilio/media-stream` takes a Media Stream (no signature check, no Redis) and hands each
frame, decoded once, to the `/listen/audio?sid=CF…` sockets of that call in this process;
no ticket, no rules, no audit. What Earpiece costs beyond this is its relay's price.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

KINDS = {"inbound": 1, "outbound": 2}
ears: dict[str, set[asyncio.Queue[bytes]]] = {}


async def twilio(ws: WebSocket) -> None:
    await ws.accept()
    sid = ""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = orjson.loads(await ws.receive_text())
            if message.get("event") == "start":
                sid = message["start"]["customParameters"].get("conference", "")
            elif message.get("event") == "media":
                body = message["media"]
                payload = base64.b64decode(body["payload"])
                frame = bytes((KINDS[body["track"]],)) + len(payload).to_bytes(2, "big") + payload
                for queue in tuple(ears.get(sid, ())):
                    if not queue.full():
                        queue.put_nowait(frame)
            elif message.get("event") == "stop":
                break


async def listen(ws: WebSocket) -> None:
    sid = ws.query_params.get("sid", "")
    await ws.accept()
    queue: asyncio.Queue[bytes] = asyncio.Queue(50)
    ears.setdefault(sid, set()).add(queue)
    try:
        while True:
            await ws.send_bytes(await queue.get())
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        ears[sid].discard(queue)


async def ready(request: Request) -> Response:
    return Response(status_code=200)


app = Starlette(
    routes=[
        WebSocketRoute("/twilio/media-stream", twilio),
        WebSocketRoute("/listen/audio", listen),
        Route("/ready", ready, methods=["GET"]),
    ]
)
