"""Times as the contract writes them."""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime


def now_ms() -> int:
    """The time now, in the epoch milliseconds the floor's documents keep."""
    return int(time.time() * 1000)


def text(value: bytes | str) -> str:
    """A Redis reply as str (the client returns bytes)."""
    return value.decode() if isinstance(value, bytes) else value


@functools.lru_cache(maxsize=4096)
def _iso_second(second: int) -> str:
    return datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso(ms: int | float | None) -> str | None:
    """UTC ISO 8601 to the second (Twilio's own resolution); cached, since a floor
    renders the same few thousand seconds over and over."""
    if ms is None:
        return None
    return _iso_second(int(ms // 1000))
