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

import hashlib
import secrets
from typing import Any

from earpiece.redis_client import AsyncRedis

HANDOFF_SECONDS = 60
CODE_BYTES = 24
MAX_CODE_CHARS = 64


def key(namespace: str, code: str) -> str:
    return "{" + namespace + "}:cookie-handoff:" + hashlib.sha256(code.encode()).hexdigest()


async def issue(redis: AsyncRedis, namespace: str, supervisor: str) -> str:
    code = secrets.token_urlsafe(CODE_BYTES)
    await redis.set(key(namespace, code), supervisor, ex=HANDOFF_SECONDS)
    return code


async def redeem(redis: AsyncRedis, namespace: str, code: str) -> str | None:
    """The supervisor a code was issued for, once; None when unknown, used or expired."""
    if not code or len(code) > MAX_CODE_CHARS:
        return None
    raw: Any = await redis.getdel(key(namespace, code))
    if raw is None:
        return None
    return raw.decode() if isinstance(raw, bytes) else str(raw)
