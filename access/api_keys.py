"""Personal API keys: one per supervisor or agent softphone, shown once, stored hashed.

A key reads `epk_<id>_<secret>`: the id finds the record (one HGET), the
secret is 32 random bytes whose SHA-256 is all Redis keeps. A random 256-bit
secret needs no slow hash (nothing to guess), so checking a key costs one
Redis read and one SHA-256: well under a millisecond per API call
(`bench/auth.py`). Revoking deletes the record; the next request with the
key is 401, on every process.

Records live in `{ns}:apikeys` (a hash: id -> JSON), so several processes
and a Redis Cluster (one hash tag) see the same keys.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

import orjson

from access.principal import AGENT, SUPERVISOR, Principal, resolve
from core.audit import Audit
from core.redis_client import AsyncRedis
from live.roster import Roster

PREFIX = "epk_"
ID_BYTES = 6
SECRET_BYTES = 32
MAX_KEY_CHARS = 128  # longer is not one of ours: refused before Redis is asked


class NoSuchOwner(ValueError):
    """A key cannot be made: the owner is not on the roster."""


@dataclass(frozen=True, slots=True)
class KeyRecord:
    key_id: str
    owner: str
    kind: str  # supervisor | agent
    created: float
    label: str

    def json(self) -> dict[str, Any]:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created))
        return {
            "id": self.key_id,
            "owner": self.owner,
            "kind": self.kind,
            "created_at": stamp,
            "label": self.label,
        }


def hash_key(namespace: str) -> str:
    return "{" + namespace + "}:apikeys"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split(key: str) -> tuple[str, str] | None:
    """(id, secret) of a key in our shape, or None."""
    if not key.startswith(PREFIX) or len(key) > MAX_KEY_CHARS:
        return None
    key_id, sep, secret = key[len(PREFIX) :].partition("_")
    if not sep or not key_id or not secret or not key_id.isalnum():
        return None
    return key_id, secret


def looks_like_key(credential: str) -> bool:
    return credential.startswith(PREFIX)


def new_key(roster: Roster, owner: str, kind: str, label: str = "") -> tuple[str, str, bytes]:
    """A fresh key for `owner`: (the key to show once, its id, the record to store)."""
    if kind == SUPERVISOR and owner not in roster.supervisors:
        raise NoSuchOwner(f"{owner!r} is not a supervisor in the roster")
    if kind == AGENT and roster.team_for(owner) is None:
        raise NoSuchOwner(f"{owner!r} is not an agent in the roster")
    key_id = secrets.token_hex(ID_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    record = orjson.dumps(
        {
            "owner": owner,
            "kind": kind,
            "hash": _digest(secret),
            "created": time.time(),
            "label": label[:80],
        }
    )
    return f"{PREFIX}{key_id}_{secret}", key_id, record


def _record(key_id: str, raw: Any) -> KeyRecord:
    data = orjson.loads(raw)
    return KeyRecord(
        key_id,
        str(data["owner"]),
        str(data["kind"]),
        float(data["created"]),
        str(data.get("label", "")),
    )


# -- the command line -----------------------------------------------------------------------


async def create(
    redis: AsyncRedis,
    audit: Audit,
    namespace: str,
    roster: Roster,
    owner: str,
    kind: str,
    label: str = "",
) -> tuple[str, str]:
    """(the key, shown once; its id), stored hashed, and the audit entry that says a key was
    made for `owner` (never the key): every credential made is someone's record, the command
    line's and the demo's alike (the demo's once went unaudited: there is no other way)."""
    key, key_id, record = new_key(roster, owner, kind, label)
    await redis.hset(hash_key(namespace), key_id, record)
    await audit.record(
        "api-key-created",
        owner if kind == SUPERVISOR else "",
        "",
        agent=owner if kind == AGENT else "",
        detail=f"{kind} key {key_id}",
    )
    return key, key_id


async def listing(redis: AsyncRedis, namespace: str) -> list[KeyRecord]:
    raw: dict[Any, Any] = await redis.hgetall(hash_key(namespace))
    found = [_record(k.decode() if isinstance(k, bytes) else k, v) for k, v in raw.items()]
    return sorted(found, key=lambda r: (r.owner, r.created))


async def revoke(redis: AsyncRedis, namespace: str, key_id_or_owner: str) -> list[KeyRecord]:
    """Revoke one key by its id, or every key of an owner; the records revoked."""
    gone = [r for r in await listing(redis, namespace) if key_id_or_owner in (r.key_id, r.owner)]
    if gone:
        await redis.hdel(hash_key(namespace), *[r.key_id for r in gone])
    return gone


# -- the service (async) -------------------------------------------------------------------


async def authenticate(
    redis: AsyncRedis, namespace: str, roster: Roster, key: str
) -> Principal | None:
    """The principal a key stands for, or None (malformed, unknown, revoked, owner gone)."""
    parts = split(key)
    if parts is None:
        return None
    key_id, secret = parts
    raw: Any = await redis.hget(hash_key(namespace), key_id)
    if raw is None:
        return None
    data = orjson.loads(raw)
    if not hmac.compare_digest(str(data.get("hash", "")), _digest(secret)):
        return None
    found = resolve(roster, str(data["kind"]), str(data["owner"]), "api-key")
    return replace(found, key_id=key_id) if found is not None else None


async def exists(redis: AsyncRedis, namespace: str, key_id: str) -> bool:
    """Whether the key `key_id` is still there (not revoked)."""
    return bool(await redis.hexists(hash_key(namespace), key_id))
