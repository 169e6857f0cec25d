"""Dashboard sessions, kept server-side in Redis: revocable, with a hard maximum age.

The browser holds only an opaque random token (a cookie, never the page's
URL). Redis keeps the session under the token's HMAC with
EARPIECE_SESSION_SECRET, so a copy of Redis opens no session, and the
session expires with its key at EARPIECE_SESSION_HOURS after sign-in
whatever the browser does. Signing out ends every session of that
supervisor, in every browser (`{ns}:sessions:<hash of id>` lists them).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson

from core.redis_client import AsyncRedis

TOKEN_BYTES = 32
MAX_TOKEN_CHARS = 64
COOKIE = "earpiece_session"


@dataclass(frozen=True, slots=True)
class Session:
    supervisor: str
    created: float
    key: str  # the Redis key: a stream opened from this session ends when it goes


class SessionStore:
    def __init__(self, redis: AsyncRedis, namespace: str, secret: str, max_age_seconds: float):
        self.redis = redis
        self.tag = "{" + namespace + "}"
        self.secret = secret.encode()
        self.max_age = max_age_seconds

    def key(self, token: str) -> str:
        digest = hmac.new(self.secret, token.encode(), hashlib.sha256).hexdigest()
        return f"{self.tag}:session:{digest}"

    def _index(self, supervisor: str) -> str:
        return f"{self.tag}:sessions:{hashlib.sha256(supervisor.encode()).hexdigest()[:32]}"

    async def create(self, supervisor: str) -> str:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        key, index, ttl = self.key(token), self._index(supervisor), int(self.max_age) + 1
        body = orjson.dumps({"supervisor": supervisor, "created": time.time()})
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, body, ex=ttl)
            pipe.sadd(index, key)
            pipe.expire(index, ttl)
            await pipe.execute()
        return token

    async def check(self, token: str) -> Session | None:
        """The session a token opens, or None (unknown, signed out, past its maximum age)."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        key = self.key(token)
        raw: Any = await self.redis.get(key)
        if raw is None:
            return None
        data = orjson.loads(raw)
        created = float(data["created"])
        if time.time() - created > self.max_age:
            return None
        return Session(str(data["supervisor"]), created, key)

    async def alive(self, key: str) -> bool:
        return bool(await self.redis.exists(key))

    def _signed_out(self, supervisor: str) -> str:
        return f"{self.tag}:signed-out:{hashlib.sha256(supervisor.encode()).hexdigest()[:32]}"

    async def signed_out_at(self, supervisor: str) -> float | None:
        """When `supervisor` last signed out (within a session's maximum age), if they did:
        an SSO identity issued before that must not open a session again."""
        raw: Any = await self.redis.get(self._signed_out(supervisor))
        return float(raw) if raw is not None else None

    async def end_all(self, supervisor: str) -> int:
        """Sign `supervisor` out everywhere; how many sessions ended."""
        await self.redis.set(
            self._signed_out(supervisor), repr(time.time()), ex=int(self.max_age) + 1
        )
        index = self._index(supervisor)
        keys: Any = await self.redis.smembers(index)
        names = [k.decode() if isinstance(k, bytes) else k for k in keys]
        for name in names:  # one by one: on a Cluster every key is on the floor's slot anyway
            await self.redis.delete(name)
        await self.redis.delete(index)
        return len(names)
