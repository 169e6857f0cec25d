"""Headers every answer of the JSON API carries: it holds live calls (who is on which call,
customers' numbers), so no browser, proxy or CDN may keep a copy, and a browser must not
guess a content type (OWASP Secure Headers)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PRIVATE = [(b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"no-referrer")]  # fmt: skip
PREFIXES = ("/api/", "/events", "/healthz")


class NoStore:
    """Raw ASGI (a BaseHTTPMiddleware would buffer the SSE streams): adds PRIVATE to the
    API's answers, replacing any Cache-Control an endpoint set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIXES):
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", [])
                        if k.lower() not in {name for name, _ in PRIVATE}]  # fmt: skip
                message = {**message, "headers": kept + PRIVATE}
            await send(message)

        await self.app(scope, receive, sending)
