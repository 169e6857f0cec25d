"""Error answers: `{"error": {"code", "message"}}` with a fitting status, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from access.policy import Denied
from core.twilio_errors import CoachError

log = logging.getLogger("earpiece.callbacks")


# Every JSON answer holds live calls (who is on which call, customers' numbers) or says
# why not: no browser, proxy or CDN may keep a copy, and no browser may guess its type
# (OWASP Secure Headers). Set here, not by a middleware, so the webhooks' raw ASGI path
# pays nothing for it.
PRIVATE = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class JSONResponse(Response):
    media_type = "application/json"

    def __init__(
        self, content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(content, status_code, {**PRIVATE, **(headers or {})})

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


# A reason is one line a person reads: one that quotes what the caller sent (an unknown SID
# of 5,000 characters) is cut here, once for every error, not at each place that quotes.
MAX_MESSAGE_CHARS = 300


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers=headers)


_HTTP_CODES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "too-large",
    422: "unprocessable",
}


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def on_coach_error(request: Request, exc: Exception) -> Response:
    """A refused supervisor action (role, rule, Twilio's refusal) is answered as is."""
    assert isinstance(exc, CoachError)
    return error_response(exc.status, exc.code, exc.message)


async def on_denied(request: Request, exc: Exception) -> Response:
    """The credential's owner may not do this (access.policy)."""
    return error_response(403, "forbidden", str(exc))


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(
        exc.status_code,
        _HTTP_CODES.get(exc.status_code, "error"),
        str(exc.detail),
        dict(exc.headers) if exc.headers else None,
    )


async def on_redis_error(request: Request, exc: Exception) -> Response:
    # 503 tells Twilio to retry the webhook later; nothing was half-applied,
    # since every write is one atomic script.
    log.warning("Redis unavailable while serving %s: %s", request.url.path, exc)
    return error_response(
        503,
        "redis-unavailable",
        "the live store (Redis) is unreachable; retry shortly",
        {"Retry-After": "1"},
    )


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error serving %s", request.url.path)
    return error_response(500, "internal", "an unexpected error occurred; it has been logged")


HANDLERS: dict[Any, Any] = {
    ApiError: on_api_error,
    CoachError: on_coach_error,
    Denied: on_denied,
    HTTPException: on_http_error,
    RedisError: on_redis_error,
    Exception: on_unexpected,
}
