"""Twilio's callbacks straight to their endpoint, past Starlette's middleware and router.

Twilio posts a callback for every join, hold and speech start and stop (FIELD-NOTES 5): on
a floor that talks, nearly every request the service answers is one. Starlette hands each
request through two middlewares (ServerErrorMiddleware, ExceptionMiddleware, each wrapping
`send`) and its router, which tries the routes one after another: ~11% of the service's CPU
under a callback load (py-spy, issue 29), ~12 us a callback, for a request whose endpoint
is known from its method and path alone. So a POST to one of these paths goes to its
endpoint at once; every other request (another method on the same path too, which the
router answers 405) goes through Starlette as before.

What the middlewares did for these endpoints is done here the same way: an exception raised
before the answer started is answered by the app's own handler for it (callbacks/errors.py:
the same JSON error, the same status), the most specific one by the exception's classes, as
Starlette looks it up. One raised after the answer started cannot be answered any more: it
goes to the server, as it would through Starlette.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HotPathStarlette(Starlette):
    """A Starlette app whose `hot` POST endpoints (path -> ASGI app) skip its middleware."""

    def __init__(self, *, hot: Mapping[str, ASGIApp], **options: Any) -> None:
        super().__init__(**options)
        self.hot = dict(hot)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self.hot.get(scope["path"])
            if endpoint is not None:
                scope["app"] = self
                await self._answer(endpoint, scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    async def _answer(self, endpoint: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await endpoint(scope, receive, sending)
        except Exception as exc:
            handler = self._handler(exc)
            if started or handler is None:
                raise
            response = await handler(Request(scope, receive), exc)
            await response(scope, receive, send)

    def _handler(self, exc: Exception) -> Any:
        for cls in type(exc).__mro__:
            if cls in self.exception_handlers:
                return self.exception_handlers[cls]
        return None
