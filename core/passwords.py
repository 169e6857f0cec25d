"""Supervisor password hashes for the roster (`earpiece hash-password` prints one).

argon2id (argon2-cffi) at the OWASP Password Storage Cheat Sheet's
parameters: 19 MiB of memory, 2 iterations, 1 lane. Hashes are
self-describing (`$argon2id$v=19$m=19456,t=2,p=1$…`), so the cost can be
raised later without breaking rosters. Older rosters' `scrypt$…` hashes
still verify; `needs_rehash` says which to replace.

`verify_unknown` does the same work as a real verification, for a sign-in
with an ID that is not on the roster: how long an answer takes must not tell
an attacker which IDs exist.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
_DUMMY = _HASHER.hash("earpiece: no such supervisor")
MAX_PASSWORD_CHARS = 1024  # a longer one is refused before any hashing


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def _scrypt(password: str, stored: str) -> bool:
    scheme, n, r, p, salt_hex, key_hex = stored.split("$")
    if scheme != "scrypt":
        return False
    salt, key = bytes.fromhex(salt_hex), bytes.fromhex(key_hex)
    candidate = hashlib.scrypt(
        password.encode(),
        salt=salt,
        n=int(n),
        r=int(r),
        p=int(p),
        dklen=len(key),
        maxmem=256 * 1024 * 1024,
    )
    return hmac.compare_digest(candidate, key)


def verify_password(password: str, stored: str | None) -> bool:
    """True when `password` matches `stored`; a missing or malformed hash never matches
    (and costs the same as a real one, see `verify_unknown`)."""
    if len(password) > MAX_PASSWORD_CHARS:
        return False
    if not stored:
        verify_unknown(password)
        return False
    try:
        if stored.startswith("scrypt$"):
            return _scrypt(password, stored)
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError, ValueError):
        return False


def verify_unknown(password: str) -> None:
    """A verification's worth of work that can never succeed."""
    with contextlib.suppress(VerificationError):
        _HASHER.verify(_DUMMY, password[:MAX_PASSWORD_CHARS] + "\0")


def needs_rehash(stored: str) -> bool:
    return stored.startswith("scrypt$") or _HASHER.check_needs_rehash(stored)
