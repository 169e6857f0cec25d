"""Who hears which call in a browser (issue 26), for the floor's rows and the call's player.

One hash for the floor, `{ep}:ears`: field `CF…/supervisor/socket` -> until (epoch ms).
Each browser socket renews its field every few seconds and removes it when it closes
(callbacks/listen.py); a field not renewed (its process died) expires by its value. One
hash, not one per call, so the board's pass reads every call's ears with one HGETALL
(its size is the number of open browser sockets, tens, not the floor's calls).
"""

from __future__ import annotations

from typing import Any

from core.keys import Keys
from core.redis_client import AsyncRedis
from live.store import now_ms, text

EAR_SECONDS = 15.0  # an ear not renewed for this long has gone


def key(keys: Keys) -> str:
    return f"{keys.tag}:ears"


async def hear(redis: AsyncRedis, keys: Keys, sid: str, ear: str) -> None:
    """`ear` (`supervisor/socket`) hears `sid`, for the next EAR_SECONDS."""
    await redis.hset(key(keys), f"{sid}/{ear}", now_ms() + int(EAR_SECONDS * 1000))


async def gone(redis: AsyncRedis, keys: Keys, sid: str, ear: str) -> None:
    await redis.hdel(key(keys), f"{sid}/{ear}")


async def every(redis: AsyncRedis, keys: Keys) -> dict[str, dict[str, int]]:
    """Each call's live ears: ConferenceSid -> {supervisor/socket: until}; stale fields of
    dead processes are removed on the way."""
    raw: Any = await redis.hgetall(key(keys))
    now = now_ms()
    out: dict[str, dict[str, int]] = {}
    stale: list[str] = []
    for field, value in raw.items():
        name = text(field)
        if int(value) < now:
            if int(value) < now - 60_000:
                stale.append(name)
            continue
        sid, _, ear = name.partition("/")
        out.setdefault(sid, {})[ear] = int(value)
    if stale:
        await redis.hdel(key(keys), *stale)
    return out


def people(ears: dict[str, int]) -> list[str]:
    """The supervisors of one call's ears, each once, sorted."""
    return sorted({ear.split("/", 1)[0] for ear in ears})
