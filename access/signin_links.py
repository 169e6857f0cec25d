"""One-time sign-in links (`earpiece signin-link`, the demo): a code good once, for
EARPIECE_SIGNIN_LINK_MINUTES, that the dashboard trades for a session and then removes
from the address bar. Redis keeps only the code's SHA-256."""

from __future__ import annotations

from access.one_time_codes import CODE_BYTES, MAX_CODE_CHARS, OneTimeCodes
from core.redis_client import AsyncRedis
from core.settings import Settings

__all__ = ["CODE_BYTES", "MAX_CODE_CHARS", "issue", "key", "link", "redeem"]

_CODES = OneTimeCodes("signin-link")
key = _CODES.key
redeem = _CODES.redeem


async def issue(redis: AsyncRedis, settings: Settings, supervisor: str) -> str:
    return await _CODES.issue(
        redis, settings.namespace, supervisor, int(settings.signin_link_minutes * 60)
    )


async def link(redis: AsyncRedis, settings: Settings, supervisor: str) -> str:
    return f"{settings.dashboard_url}/?signin={await issue(redis, settings, supervisor)}"
