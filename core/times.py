"""Times as the contract writes them: the product's one clock module.

Every ISO 8601 stamp the product reads goes through `moment` (or `ms_of`, its cached
epoch-ms form), and every calendar day a floor counts in through `day_bounds`; what a
person reads is formatted by core/floor_clock.py, on top of these.
"""

from __future__ import annotations

import functools
import time
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as clock_time


def now_ms() -> int:
    """The time now, in the epoch milliseconds the floor's documents keep."""
    return int(time.time() * 1000)


def text(value: bytes | str) -> str:
    """A Redis reply as str (the client returns bytes)."""
    return value.decode() if isinstance(value, bytes) else value


@functools.lru_cache(maxsize=4096)
def _iso_second(second: int) -> str:
    return datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def moment(stamp: str, zone: tzinfo = UTC) -> datetime:
    """An ISO 8601 date or time as an aware datetime: as iso() writes it (`Z`), with an
    offset, or with none (then it is `zone`'s: UTC, as Twilio means it, unless the caller
    says whose). The one ISO reader of the product; ValueError for anything else."""
    found = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return found if found.tzinfo is not None else found.replace(tzinfo=zone)


@functools.lru_cache(maxsize=16_384)
def ms_of(stamp: str) -> int:
    """The epoch ms of an ISO 8601 time (`moment`, read as UTC without an offset);
    ValueError or OverflowError for anything else. Cached: a floor's stamps repeat pass
    after pass."""
    return int(moment(stamp).timestamp() * 1000)


@functools.lru_cache(maxsize=1024)
def day_bounds(day: str, zone: tzinfo) -> tuple[int, int]:
    """[start, end) of a calendar day (`YYYY-MM-DD`) in `zone`, in epoch ms: from its
    midnight to the next (23 or 25 hours on a day the clocks change)."""
    first = date.fromisoformat(day)
    start = datetime.combine(first, clock_time(), zone)
    end = datetime.combine(first + timedelta(days=1), clock_time(), zone)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def iso(ms: int | float | None) -> str | None:
    """UTC ISO 8601 to the second (Twilio's own resolution); cached, since a floor
    renders the same few thousand seconds over and over."""
    if ms is None:
        return None
    return _iso_second(int(ms // 1000))
