"""Signing in with a roster password: throttled, timed alike for every ID, audited.

Who is throttled, and why (issue 22). The address is the connection's own, or
the last one before a proxy named in EARPIECE_TRUSTED_PROXIES (uvicorn applies
that setting, in both services: a forged X-Forwarded-For from anyone else is
ignored). Before any hashing, an attempt is checked against three failure
records in Redis (so every dashboard process agrees):

- the account *at this address* (`pair`): after EARPIECE_SIGNIN_MAX_FAILURES,
  each further attempt there waits twice as long as the last (from
  EARPIECE_SIGNIN_LOCK_SECONDS, at most an hour). Only that person at that
  address waits: a colleague behind the same NAT signs in as usual.
- the address (`ip`): the same backoff, but only after `ADDRESS_FACTOR` times
  as many failures, forgotten an hour after the last one. A contact centre's
  300 seats share one address; only a spray of guesses (an attack from there)
  holds it back, never one person's typos.
- the account from anywhere (`account`): an account guessed at from many
  addresses is *paced* after `ACCOUNT_FACTOR` times the failures: attempts from
  an address the account has not signed in from before wait (the same backoff),
  so a botnet gets a guess per wait, however many addresses it has. Attempts
  from the account's usual addresses (where it signed in within
  `KNOWN_ADDRESS_DAYS`) skip this one: nobody can lock a named supervisor out
  of their own desk by guessing at their password from elsewhere.

A correct password from an address that is not itself throttled succeeds, and
clears that account-and-address's failures (never the address's: a valid
account would otherwise wash an attacker's spray away). What remains: someone
at the *same* address as ken who guesses ken's password delays ken there
(backoff from 30 s); telling them apart would take more than an address.

Hashing itself runs in at most `HASHING_AT_ONCE` threads per process, so a
flood costs the server a bounded amount of CPU (`bench/auth.py`); an attempt
that cannot get a turn within `QUEUE_SECONDS` is told to try again. An unknown
ID costs the same hash as a known one. Every sign-in, failure and lockout is
audited with the address as resolved above.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from typing import Any

from core.audit import Audit
from core.passwords import MAX_PASSWORD_CHARS, verify_password
from core.redis_client import AsyncRedis
from live.roster import Roster, Supervisor

# One hash at a time per process: a flood of sign-ins costs the dashboard one core at most
# (each argon2id verification is ~30 ms of CPU), the rest of the machine stays free.
HASHING_AT_ONCE = 1
QUEUE_SECONDS = 5.0
MAX_LOCK_SECONDS = 3600.0
MAX_ID_CHARS = 64
FAILURE_MEMORY_SECONDS = 24 * 3600
ADDRESS_MEMORY_SECONDS = 3600  # a shared address's typos do not pile up for a day
ADDRESS_FACTOR = 10  # the address alone: ten times the account's failures
ACCOUNT_FACTOR = 2  # the account from unknown addresses: twice
KNOWN_ADDRESS_DAYS = 30
MAX_KNOWN_ADDRESSES = 20


# KEYS: the failure records (hashes {n, last}): the account at this address, the address,
# the account anywhere.
# ARGV: now (s), first lock (s), longest lock (s), then for each key: failures before
# backoff (0: this key is counted but never holds back), memory (s).
# Returns 0 after counting the attempt on every key, or, if any key is locked, the longest
# wait in ms (and counts nothing). A key locks after its failures: each further attempt
# must wait lock * 2^(n - failures) from the last one, at most the longest lock.
RESERVE_LUA = """
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 + 2 * i])
  local n = tonumber(redis.call('HGET', key, 'n') or '0')
  local last = tonumber(redis.call('HGET', key, 'last') or '0')
  if limit > 0 and n >= limit then
    local lock = math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) * 2 ^ (n - limit))
    wait = math.max(wait, last + lock - now)
  end
end
if wait > 0 then return math.ceil(wait * 1000) end
for i, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, 'n', 1)
  redis.call('HSET', key, 'last', ARGV[1])
  redis.call('EXPIRE', key, ARGV[3 + 2 * i])
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
    def __init__(
        self,
        redis: AsyncRedis,
        namespace: str,
        roster: Roster,
        audit: Audit,
        *,
        max_failures: int,
        lock_seconds: float,
    ) -> None:
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

    def _known(self, ident: str) -> str:
        return self._key("known", ident)

    def _digest(self, address: str) -> str:
        return hashlib.sha256(address.encode()).hexdigest()[:32]

    async def _usual_address(self, ident: str, address: str) -> bool:
        """Whether the account signed in from `address` within KNOWN_ADDRESS_DAYS."""
        seen: Any = await self.redis.zscore(self._known(ident), self._digest(address))
        return seen is not None and float(seen) > time.time() - KNOWN_ADDRESS_DAYS * 86400

    async def _remember_address(self, ident: str, address: str) -> None:
        key = self._known(ident)
        await self.redis.zadd(key, {self._digest(address): time.time()})
        await self.redis.zremrangebyrank(key, 0, -MAX_KNOWN_ADDRESSES - 1)  # the newest only
        await self.redis.expire(key, KNOWN_ADDRESS_DAYS * 86400)

    async def _reserve(self, keys: list[str], limits: list[int], now: float) -> float:
        """Count this attempt as a failure up front, on every record, unless one of them
        holds it back: then nothing is counted and the wait is returned. Up front, so that
        a flood of simultaneous attempts is held back after the first few, not after all
        of them were hashed; a success takes its count back."""
        memory = [FAILURE_MEMORY_SECONDS, ADDRESS_MEMORY_SECONDS, FAILURE_MEMORY_SECONDS]
        per_key = [str(v) for pair in zip(limits, memory, strict=True) for v in pair]
        wait = await self._script(
            keys=keys,
            args=[
                repr(now),
                self.lock_seconds,
                MAX_LOCK_SECONDS,
                *per_key,
            ],
        )
        return float(wait) / 1000

    async def attempt(self, ident: str, password: str, address: str) -> Outcome:
        """`address`: the client's, as the server resolved it (never a header as sent)."""
        ident = ident.strip()[:MAX_ID_CHARS]
        address = address or "unknown"
        now = time.time()
        keys = [
            self._key("pair", f"{ident}\n{address}"),
            self._key("ip", address),
            self._key("id", ident),
        ]
        usual = await self._usual_address(ident, address)
        limits = [
            self.max_failures,
            self.max_failures * ADDRESS_FACTOR,
            0 if usual else self.max_failures * ACCOUNT_FACTOR,
        ]
        who = self.roster.supervisors.get(ident)
        name = who.id if who is not None else ""
        wait = await self._reserve(keys, limits, now)
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
            await self.audit.record(
                "signin-failed", name, "", outcome="refused", detail=f"id {ident!r} from {address}"
            )
            return Outcome(None, WRONG)
        # The account's failures at this address are forgiven; this attempt was not a failure
        # anywhere else either. The address's and the account's other failures stay.
        await self.redis.delete(keys[0])
        for key in keys[1:]:
            await self.redis.hincrby(key, "n", -1)
        await self._remember_address(who.id, address)
        await self.audit.record("signin", who.id, "", detail=f"password, from {address}")
        return Outcome(who)
