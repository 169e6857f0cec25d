"""Supervisor password hashes for the roster (`earpiece hash-password` prints one).

scrypt from the standard library, in a self-describing string:
`scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>`, so the cost can be raised later
without breaking hashes already in rosters.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

N, R, P = 2**14, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    key = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=KEY_BYTES)
    return f"scrypt${N}${R}${P}${salt.hex()}${key.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when `password` matches `stored`; a missing or malformed hash never matches."""
    if not stored:
        return False
    try:
        scheme, n, r, p, salt_hex, key_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        salt, key = bytes.fromhex(salt_hex), bytes.fromhex(key_hex)
        candidate = hashlib.scrypt(
            password.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(key),
            maxmem=256 * 1024 * 1024,
        )  # fmt: skip
    except ValueError:
        return False
    return hmac.compare_digest(candidate, key)
