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

from coach.audit import Audit
from earpiece.passwords import MAX_PASSWORD_CHARS, verify_password
from earpiece.redis_client import AsyncRedis
from earpiece.roster import Roster, Supervisor

# One hash at a time per process: a flood of sign-ins costs the dashboard one core at most
# (each argon2id verification is ~30 ms of CPU), the rest of the machine stays free.
HASHING_AT_ONCE = 1
QUEUE_SECONDS = 5.0
MAX_LOCK_SECONDS = 3600.0
MAX_ID_CHARS = 64
FAILURE_MEMORY_SECONDS = 24 * 3600


# KEYS: the failure records (hashes {n, last}) of the ID and of the address.
# ARGV: now (s), failures before backoff, first lock (s), longest lock (s), memory (s).
# Returns 0 after counting the attempt on every key, or, if any key is locked, the longest
# wait in ms (and counts nothing). A key locks after ARGV[2] failures: each further attempt
# must wait lock * 2^(n - failures) from the last one, at most the longest lock.
RESERVE_LUA = """
local now = tonumber(ARGV[1])
local wait = 0
for _, key in ipairs(KEYS) do
  local n = tonumber(redis.call('HGET', key, 'n') or '0')
  local last = tonumber(redis.call('HGET', key, 'last') or '0')
  if n >= tonumber(ARGV[2]) then
    local lock = math.min(tonumber(ARGV[4]), tonumber(ARGV[3]) * 2 ^ (n - tonumber(ARGV[2])))
    wait = math.max(wait, last + lock - now)
  end
end
if wait > 0 then return math.ceil(wait * 1000) end
for _, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, 'n', 1)
  redis.call('HSET', key, 'last', ARGV[1])
  redis.call('EXPIRE', key, ARGV[5])
end
return 0
"""


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
        self._script = redis.register_script(RESERVE_LUA)

    def _key(self, kind: str, value: str) -> str:
        # Hashed: an ID or address someone typed never becomes a key name as it is.
        return (
            f"{self.tag}:signin-failures:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"
        )

    async def _reserve(self, keys: list[str], now: float) -> float:
        """Count this attempt as a failure up front, on the ID and the address, unless either
        is locked: then nothing is counted and the wait is returned. Up front, so that a
        flood of simultaneous attempts is locked out after the first few, not after all
        of them were hashed; a success takes its count back."""
        wait = await self._script(keys=keys, args=[
            repr(now), self.max_failures, self.lock_seconds, MAX_LOCK_SECONDS,
            FAILURE_MEMORY_SECONDS,
        ])  # fmt: skip
        return float(wait) / 1000

    async def attempt(self, ident: str, password: str, address: str) -> Outcome:
        ident = ident.strip()[:MAX_ID_CHARS]
        now = time.time()
        keys = [self._key("id", ident), self._key("ip", address or "unknown")]
        who = self.roster.supervisors.get(ident)
        name = who.id if who is not None else ""
        wait = await self._reserve(keys, now)
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
                for key in keys:  # not hashed: not counted
                    await self.redis.hincrby(key, "n", -1)
                return Outcome(None, "Sign-in is busy; try again in a few seconds.")
            try:
                stored = who.password_hash if who is not None else None
                ok = await asyncio.to_thread(verify_password, password, stored)
            finally:
                self._hashing.release()
        if not ok or who is None:
            await self.audit.record("signin-failed", name, "", outcome="refused",
                                    detail=f"id {ident!r} from {address}")  # fmt: skip
            return Outcome(None, WRONG)
        await self.redis.delete(keys[0])  # the account's failures are forgiven
        await self.redis.hincrby(keys[1], "n", -1)  # this attempt was not a failure
        await self.audit.record("signin", who.id, "", detail=f"password, from {address}")
        return Outcome(who)
