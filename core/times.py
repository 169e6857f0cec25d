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


@functools.lru_cache(maxsize=16_384)
def ms_of(stamp: str) -> int:
    """The epoch ms of an ISO 8601 time: as iso() writes it, or with an offset, or none
    (read as UTC, as Twilio means it). The one ISO reader of the product; ValueError or
    OverflowError for anything else. Cached: a floor's stamps repeat pass after pass."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def iso(ms: int | float | None) -> str | None:
    """UTC ISO 8601 to the second (Twilio's own resolution); cached, since a floor
    renders the same few thousand seconds over and over."""
    if ms is None:
        return None
    return _iso_second(int(ms // 1000))
