"""The dashboard's session cookie is set by its server (issue 22): HttpOnly, SameSite=Strict,
Secure when the dashboard is served over HTTPS, for a one-time handoff code only.
(tests/chromium/test_sessions_browser.py checks in chromium that no script on the page sees it.)"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import httpx
from starlette.applications import Starlette

from access import cookie_handoff
from access.sessions import COOKIE, SessionStore
from core.redis_client import RedisTarget, async_client
from core.settings import Settings
from dashboard.cookie_routes import SESSION_PATH, SIGNOUT_PATH, routes
from tests.conftest import SESSION_SECRET


def attributes(header: str) -> dict[str, str]:
    parts = [p.strip() for p in header.split(";")]
    return {p.split("=", 1)[0].lower(): (p.split("=", 1)[1] if "=" in p else "") for p in parts}


async def story(settings: Settings, host: str = "floor.example") -> list[dict[str, str]]:
    assert settings.redis_url is not None
    redis = async_client(RedisTarget(settings.redis_url, False, None))
    app = Starlette(routes=routes(settings))
    seen: list[dict[str, str]] = []
    base = f"http://{host}"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base) as http:
        code = await cookie_handoff.issue(redis, settings.namespace, "ken")
        # Another site's page cannot post it (Origin names another host).
        forged = await http.post(SESSION_PATH, json={"code": code},
                                 headers={"Origin": "https://evil.example"})  # fmt: skip
        assert forged.status_code == 403 and "set-cookie" not in forged.headers
        answer = await http.post(SESSION_PATH, json={"code": code}, headers={"Origin": base})
        assert answer.status_code == 204, answer.text
        cookie = attributes(answer.headers["set-cookie"])
        seen.append(cookie)
        store = SessionStore(redis, settings.namespace, SESSION_SECRET, 3600)
        session = await store.check(cookie[COOKIE])
        assert session is not None and session.supervisor == "ken"
        # A code is good once; malformed bodies are a 400 with a reason, never a 500.
        again = await http.post(SESSION_PATH, json={"code": code})
        assert again.status_code == 401 and "set-cookie" not in again.headers
        for body in (b"", b"not json", b'{"code": 5}', b"[]", b"x" * 5000):
            bad = await http.post(SESSION_PATH, content=body)
            assert bad.status_code == 400 and "code" in bad.json()["error"], body[:20]
        out = await http.post(SIGNOUT_PATH, headers={"Origin": base})
        assert out.status_code == 204
        cleared = attributes(out.headers["set-cookie"])
        assert cleared[COOKIE] in ("", '""') and cleared["max-age"] == "0"
        seen.append(cleared)
    await redis.aclose()
    return seen


def test_the_cookie_is_httponly_strict_and_set_by_the_server(settings: Settings) -> None:
    plain = dataclasses.replace(settings, dashboard_url="http://127.0.0.1:8501")
    for cookie in asyncio.run(story(plain)):
        assert "httponly" in cookie and cookie["samesite"].lower() == "strict"
        assert cookie["path"] == "/" and "secure" not in cookie
    set_cookie: dict[str, Any] = asyncio.run(story(plain))[0]
    assert int(set_cookie["max-age"]) == int(settings.session_hours * 3600)


def test_the_cookie_is_secure_when_the_dashboard_is_served_over_https(
    settings: Settings,
) -> None:
    served = dataclasses.replace(settings, dashboard_url="https://floor.example")
    for cookie in asyncio.run(story(served)):
        assert "secure" in cookie and "httponly" in cookie
