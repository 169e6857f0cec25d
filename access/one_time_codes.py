"""Codes good once that name a supervisor: sign-in links (access/signin_links.py) and the
session cookie's handoff (access/cookie_handoff.py).

One mechanism for both, so that a fix to one (how long a code may be, how it is stored,
how it is used up) is a fix to the other: the code is random (`secrets`, 24 bytes), Redis
keeps only its SHA-256 (a dump of Redis signs nobody in), it lives a given number of
seconds, and redeeming it deletes it in the same command (GETDEL), so two redeems of one
code never both succeed.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from core.redis_client import AsyncRedis

CODE_BYTES = 24
MAX_CODE_CHARS = 64


@dataclass(frozen=True)
class OneTimeCodes:
    """The codes of one purpose (`kind`: its own Redis keys)."""

    kind: str

    def key(self, namespace: str, code: str) -> str:
        digest = hashlib.sha256(code.encode()).hexdigest()
        return "{" + namespace + "}:" + self.kind + ":" + digest

    async def issue(self, redis: AsyncRedis, namespace: str, supervisor: str, seconds: int) -> str:
        code = secrets.token_urlsafe(CODE_BYTES)
        await redis.set(self.key(namespace, code), supervisor, ex=seconds)
        return code

    async def redeem(self, redis: AsyncRedis, namespace: str, code: str) -> str | None:
        """The supervisor a code was issued for, once; None when unknown, used or expired."""
        if not code or len(code) > MAX_CODE_CHARS:
            return None
        raw: Any = await redis.getdel(self.key(namespace, code))
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)
