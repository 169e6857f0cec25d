"""Whether the credential behind an open stream still lives (issue 22).

A stream outlives the request that opened it: without a check, a revoked key
or a signed-out session kept every stream it had. Every stream loop asks
`ended()` every few seconds (`CHECK_SECONDS`), and ends with an event saying
why (`revoked`, `signed-out`, `expired`) when it answers.

How revocation reaches streams in other processes: it needs nothing of its
own. Revoking a key deletes its record from `{ns}:apikeys`, and signing out
deletes the session's key; both are in the one Redis every process of the
service shares, so each process sees them on its next check. That is one
`HEXISTS` or `EXISTS` per distinct credential per `CHECK_SECONDS` per
process, whatever the number of its streams: answers are kept that long and
shared by every stream of the same credential (a pub/sub or an epoch would
save little over that, and would need its own delivery guarantees: a
process that missed a message would keep a revoked stream for ever). An
OIDC access token cannot be revoked at its issuer from here; its stream ends
at the token's `exp`. The service token is one setting: changing it
restarts the service, which ends every stream.
"""

from __future__ import annotations

import asyncio
import time

from redis.exceptions import RedisError

from access import api_keys
from access.principal import Principal
from core.redis_client import AsyncRedis

CHECK_SECONDS = 2.0
REVOKED, SIGNED_OUT, EXPIRED = "revoked", "signed-out", "expired"
# Answers kept at most this many credentials at once (a process serves far fewer).
MAX_KEPT = 10_000


class Liveness:
    """One process's view of which credentials still live, each asked at most every
    `period` seconds."""

    def __init__(self, redis: AsyncRedis, namespace: str, period: float = CHECK_SECONDS):
        self.redis, self.namespace, self.period = redis, namespace, period
        self._kept: dict[str, tuple[float, bool]] = {}

    async def _alive(self, ref: str, fresh: bool) -> bool:
        now = time.monotonic()
        kept = self._kept.get(ref)
        if kept is not None and not fresh and now - kept[0] < self.period:
            return kept[1]
        kind, _, name = ref.partition(":")
        try:
            asking = (
                api_keys.exists(self.redis, self.namespace, name)
                if kind == "key"
                else self.redis.exists(name)
            )
            alive = bool(await asyncio.wait_for(asking, self.period))
        except (RedisError, TimeoutError):
            # While Redis does not answer nobody can tell: the stream goes on (the board's
            # `status` event says the floor is out of reach) rather than end with a RedisError
            # in the log, and asks again next time.
            return kept[1] if kept is not None else True

        if len(self._kept) >= MAX_KEPT:
            self._kept.clear()
        self._kept[ref] = (now, alive)
        return alive

    async def ended(self, who: Principal, fresh: bool = False) -> str | None:
        """Why `who`'s credential no longer opens anything (`revoked`, `signed-out`,
        `expired`), or None while it does. `fresh` asks Redis whatever was kept."""
        if who.until is not None and time.time() > who.until:
            return EXPIRED
        if who.session is not None and not await self._alive(f"session:{who.session}", fresh):
            return SIGNED_OUT
        if who.key_id is not None and not await self._alive(f"key:{who.key_id}", fresh):
            return REVOKED
        return None
