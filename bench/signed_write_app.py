"""The floor of this design: bare Starlette doing what every callback must, and no more.

The same signature check as Earpiece's (callbacks/forms.py's parser, callbacks/signature.py's
SignatureChecker), then one Redis write per request, pipelined as live/batching.py sends
Earpiece's applies: the writes submitted during one event-loop tick go in one round trip,
at most MAX_IN_FLIGHT of those on their way at once, and what arrives meanwhile goes in the
next. The write is the body appended to a capped stream (XADD MAXLEN ~), the one write a
callback cannot do without: the change feed.

Read from the environment (bench/common.py signed_write_service sets them):
TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL, REDIS_URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from callbacks.forms import parse_form
from callbacks.signature import SignatureChecker
from core.redis_client import AsyncRedis, RedisTarget, async_client
from live.batching import MAX_BATCH, MAX_IN_FLIGHT

STREAM = "{bench}:baseline"
MAXLEN = 20_000


class PipelinedWrites:
    """XADDs submitted during one loop tick, sent as one pipeline (one round trip)."""

    def __init__(self, redis: AsyncRedis) -> None:
        self.redis = redis
        self._pending: list[tuple[bytes, asyncio.Future[Any]]] = []
        self._scheduled = False
        self._sending: set[asyncio.Task[None]] = set()

    def add(self, body: bytes) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((body, future))
        if not self._scheduled and len(self._sending) < MAX_IN_FLIGHT:
            self._scheduled = True
            loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self._scheduled = False
        while self._pending and len(self._sending) < MAX_IN_FLIGHT:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            task = asyncio.ensure_future(self._send(batch))
            self._sending.add(task)
            task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if self._pending and not self._scheduled:
            self._flush()

    async def _send(self, pending: list[tuple[bytes, asyncio.Future[Any]]]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for body, _ in pending:
            pipe.xadd(STREAM, {"b": body}, maxlen=MAXLEN, approximate=True)
        try:
            replies = await pipe.execute()
        except Exception as exc:
            for _, future in pending:
                future.set_exception(exc)
            return
        for (_, future), reply in zip(pending, replies, strict=True):
            future.set_result(reply)


checker = SignatureChecker(
    os.environ.get("TWILIO_AUTH_TOKEN", ""), os.environ.get("PUBLIC_BASE_URL", "")
)
writes: PipelinedWrites | None = None


async def receive(request: Request) -> Response:
    body = await request.body()
    pairs = parse_form(body)
    signature = request.headers.get("x-twilio-signature", "")
    if not checker.valid(request.url.path, request.url.query, pairs, signature):
        return Response(status_code=403)
    assert writes is not None
    await writes.add(body)
    return Response(status_code=204)


async def ready(request: Request) -> Response:
    return Response(status_code=200)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global writes
    # The product's client: the same pool, timeouts and parser as Earpiece's.
    redis = async_client(RedisTarget(os.environ["REDIS_URL"], False, None))
    writes = PipelinedWrites(redis)
    try:
        yield
    finally:
        await redis.aclose()


app = Starlette(
    routes=[
        Route("/twilio/conference-events", receive, methods=["POST"]),
        Route("/ready", ready, methods=["GET"]),
    ],
    lifespan=lifespan,
)
