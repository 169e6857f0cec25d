"""Times as the contract writes them."""

from __future__ import annotations

import functools
from datetime import UTC, datetime


@functools.lru_cache(maxsize=4096)
def _iso_second(second: int) -> str:
    return datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso(ms: int | float | None) -> str | None:
    """UTC ISO 8601 to the second (Twilio's own resolution); cached, since a floor
    renders the same few thousand seconds over and over."""
    if ms is None:
        return None
    return _iso_second(int(ms // 1000))
