"""One-time sign-in links (`earpiece signin-link`, the demo): a code good once, for
EARPIECE_SIGNIN_LINK_MINUTES, that the dashboard trades for a session and then removes
from the address bar. Redis keeps only the code's SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from earpiece.redis_client import AsyncRedis
from earpiece.settings import Settings

CODE_BYTES = 24
MAX_CODE_CHARS = 64


def key(namespace: str, code: str) -> str:
    return "{" + namespace + "}:signin-link:" + hashlib.sha256(code.encode()).hexdigest()


async def issue(redis: AsyncRedis, settings: Settings, supervisor: str) -> str:
    code = secrets.token_urlsafe(CODE_BYTES)
    await redis.set(key(settings.namespace, code), supervisor,
                    ex=int(settings.signin_link_minutes * 60))  # fmt: skip
    return code


async def link(redis: AsyncRedis, settings: Settings, supervisor: str) -> str:
    return f"{settings.dashboard_url}/?signin={await issue(redis, settings, supervisor)}"


async def redeem(redis: AsyncRedis, namespace: str, code: str) -> str | None:
    """The supervisor a code signs in, once; None when unknown, used or expired."""
    if not code or len(code) > MAX_CODE_CHARS:
        return None
    raw: Any = await redis.getdel(key(namespace, code))
    if raw is None:
        return None
    return raw.decode() if isinstance(raw, bytes) else str(raw)
