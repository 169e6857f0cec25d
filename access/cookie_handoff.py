"""Handing a signed-in browser its session cookie without any script on the page seeing it.

Streamlit's script cannot set a response header: a cookie set from the page's
JavaScript is readable by every script on the page. So the script, once
someone signed in, issues a *handoff code*: random, good once, for
`HANDOFF_SECONDS`, naming the supervisor. The page posts it to the dashboard's
own `POST /_earpiece/session` (dashboard/cookie_routes.py), which redeems it,
opens a server-side session (access/sessions.py) and answers with
`Set-Cookie: earpiece_session=…; HttpOnly; SameSite=Strict` (and `Secure` over
HTTPS). The session token itself never reaches the page's JavaScript, and Redis
keeps only the code's SHA-256, as for sign-in links.
"""

from __future__ import annotations

from access.one_time_codes import CODE_BYTES, MAX_CODE_CHARS, OneTimeCodes
from core.redis_client import AsyncRedis

__all__ = ["CODE_BYTES", "HANDOFF_SECONDS", "MAX_CODE_CHARS", "issue", "key", "redeem"]

HANDOFF_SECONDS = 60
_CODES = OneTimeCodes("cookie-handoff")
key = _CODES.key
redeem = _CODES.redeem


async def issue(redis: AsyncRedis, namespace: str, supervisor: str) -> str:
    return await _CODES.issue(redis, namespace, supervisor, HANDOFF_SECONDS)
