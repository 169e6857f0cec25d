"""The dashboard's own HTTP routes beside Streamlit's: the session cookie, set by the server.

Streamlit (1.67) serves an `st.App` (earpiece/dashboard_server.py) on its own
uvicorn/Starlette server and lets it add routes; these two are all Earpiece adds:

POST /_earpiece/session   {"code": "<handoff code>"}: 204 with
                          Set-Cookie: earpiece_session=<token>; HttpOnly; SameSite=Strict;
                          Path=/; Max-Age=<EARPIECE_SESSION_HOURS>; Secure over HTTPS
POST /_earpiece/signout   204 with the cookie cleared (the sessions themselves are ended
                          server-side by the sign-out, in every browser)

HttpOnly: no script on the page can read the token (access/cookie_handoff.py says
how it gets there without one). Secure when EARPIECE_DASHBOARD_URL is https, or
the request came over HTTPS. A request from another origin (its Origin header
names another host) is refused: no other site's page makes a browser sign in or out.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from access import cookie_handoff
from access.sessions import COOKIE, SessionStore
from core.redis_client import AsyncRedis, async_client, resolve
from core.settings import Settings
from live import roster as roster_module
from live.roster import Roster

SESSION_PATH = "/_earpiece/session"
SIGNOUT_PATH = "/_earpiece/signout"
MAX_BODY_BYTES = 1024
NO_STORE = {"Cache-Control": "no-store"}


class Backend:
    """This server's Redis client and session store, made on first use in the server's own
    event loop (a client belongs to the loop that made it)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._redis: AsyncRedis | None = None
        self._roster: Roster | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> tuple[SessionStore, Roster]:
        async with self._lock:
            if self._redis is None:
                target = await asyncio.to_thread(resolve, self.settings)
                self._redis = async_client(target, max_connections=8)
                self._roster = roster_module.for_settings(self.settings)
        assert self._redis is not None and self._roster is not None
        assert self.settings.session_secret is not None  # dashboard.REQUIRED
        store = SessionStore(
            self._redis,
            self.settings.namespace,
            self.settings.session_secret,
            self.settings.session_hours * 3600,
        )
        return store, self._roster

    async def redis(self) -> AsyncRedis:
        await self.get()
        assert self._redis is not None
        return self._redis


def _refuse(status: int, reason: str) -> Response:
    return JSONResponse({"error": reason}, status, headers=NO_STORE)


def same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser's cross-origin request (those always say where from)
    return urlsplit(origin).netloc == request.headers.get("host", "")


def secure(settings: Settings, request: Request) -> bool:
    return settings.dashboard_url.startswith("https:") or request.url.scheme == "https"


def routes(settings: Settings) -> list[Route]:
    backend = Backend(settings)

    async def session(request: Request) -> Response:
        if not same_origin(request):
            return _refuse(403, "another site's page cannot sign anyone in here")
        body = await request.body()
        try:
            data: Any = orjson.loads(body) if len(body) <= MAX_BODY_BYTES else None
        except orjson.JSONDecodeError:
            data = None
        code = data.get("code") if isinstance(data, dict) else None
        if not isinstance(code, str):
            return _refuse(400, 'the body must be {"code": "<handoff code>"}')
        store, roster = await backend.get()
        ident = await cookie_handoff.redeem(await backend.redis(), settings.namespace, code)
        if ident is None or ident not in roster.supervisors:
            return _refuse(401, "the code is unknown, used or expired: sign in again")
        token = await store.create(ident)
        answer = Response(status_code=204, headers=NO_STORE)
        answer.set_cookie(
            COOKIE,
            token,
            max_age=int(settings.session_hours * 3600),
            path="/",
            secure=secure(settings, request),
            httponly=True,
            samesite="strict",
        )
        return answer

    async def signout(request: Request) -> Response:
        if not same_origin(request):
            return _refuse(403, "another site's page cannot sign anyone out here")
        answer = Response(status_code=204, headers=NO_STORE)
        answer.delete_cookie(
            COOKIE, path="/", secure=secure(settings, request), httponly=True, samesite="strict"
        )
        return answer

    return [
        Route(SESSION_PATH, session, methods=["POST"]),
        Route(SIGNOUT_PATH, signout, methods=["POST"]),
    ]
