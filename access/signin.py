"""Signing in with a roster password: throttled, timed alike for every ID, audited.

Before any hashing, the attempt's ID and its address are checked against
their recent failures (kept in Redis, so every dashboard process agrees):
after EARPIECE_SIGNIN_MAX_FAILURES, each further attempt must wait twice as
long as the last (from EARPIECE_SIGNIN_LOCK_SECONDS, at most an hour), and
an attempt during the wait is refused without hashing. Hashing itself runs
in at most `HASHING_AT_ONCE` threads per process, so a flood costs the
server a bounded amount of CPU (`bench/auth.py`); an attempt that cannot get
a turn within `QUEUE_SECONDS` is told to try again. An unknown ID costs the
same hash as a known one. Every sign-in, failure and lockout is audited.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from typing import Any

from coach.audit import Audit
from earpiece.passwords import MAX_PASSWORD_CHARS, verify_password
from earpiece.redis_client import AsyncRedis
from earpiece.roster import Roster, Supervisor

HASHING_AT_ONCE = 2
QUEUE_SECONDS = 5.0
MAX_LOCK_SECONDS = 3600.0
MAX_ID_CHARS = 64
FAILURE_MEMORY_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class Outcome:
    who: Supervisor | None
    message: str = ""  # why not, for the person signing in
    locked: bool = False


WRONG = "Unknown supervisor or wrong password."


class SignIn:
    def __init__(self, redis: AsyncRedis, namespace: str, roster: Roster, audit: Audit, *,
                 max_failures: int, lock_seconds: float) -> None:  # fmt: skip
        self.redis = redis
        self.tag = "{" + namespace + "}"
        self.roster = roster
        self.audit = audit
        self.max_failures = max_failures
        self.lock_seconds = lock_seconds
        self._hashing = asyncio.Semaphore(HASHING_AT_ONCE)

    def _key(self, kind: str, value: str) -> str:
        # Hashed: an ID or address someone typed never becomes a key name as it is.
        return (
            f"{self.tag}:signin-failures:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"
        )

    def _wait(self, failures: int, last: float, now: float) -> float:
        if failures < self.max_failures:
            return 0.0
        lock = min(MAX_LOCK_SECONDS, self.lock_seconds * 2 ** (failures - self.max_failures))
        return float(max(0.0, last + lock - now))

    async def _locked_for(self, keys: list[str], now: float) -> float:
        longest = 0.0
        for key in keys:
            raw: Any = await self.redis.hgetall(key)
            if raw:
                n, last = int(raw.get(b"n", 0)), float(raw.get(b"last", 0))
                longest = max(longest, self._wait(n, last, now))
        return longest

    async def _fail(self, keys: list[str], now: float) -> None:
        for key in keys:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hincrby(key, "n", 1)
                pipe.hset(key, "last", str(now))
                pipe.expire(key, FAILURE_MEMORY_SECONDS)
                await pipe.execute()

    async def attempt(self, ident: str, password: str, address: str) -> Outcome:
        ident = ident.strip()[:MAX_ID_CHARS]
        now = time.time()
        keys = [self._key("id", ident), self._key("ip", address or "unknown")]
        who = self.roster.supervisors.get(ident)
        name = who.id if who is not None else ""
        wait = await self._locked_for(keys, now)
        if wait > 0:
            detail = f"id {ident!r} from {address}; {wait:.0f} s left"
            await self.audit.record("signin-locked", name, "", outcome="refused", detail=detail)
            return Outcome(None, f"Too many failed sign-ins: try again in {wait:.0f} s.", True)
        if len(password) > MAX_PASSWORD_CHARS:
            ok = False
        else:
            try:
                async with asyncio.timeout(QUEUE_SECONDS):
                    await self._hashing.acquire()
            except TimeoutError:
                return Outcome(None, "Sign-in is busy; try again in a few seconds.")
            try:
                stored = who.password_hash if who is not None else None
                ok = await asyncio.to_thread(verify_password, password, stored)
            finally:
                self._hashing.release()
        if not ok or who is None:
            await self._fail(keys, now)
            await self.audit.record("signin-failed", name, "", outcome="refused",
                                    detail=f"id {ident!r} from {address}")  # fmt: skip
            return Outcome(None, WRONG)
        await self.redis.delete(keys[0])
        await self.audit.record("signin", who.id, "", detail=f"password, from {address}")
        return Outcome(who)
