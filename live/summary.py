"""The floor at a glance: the numbers a supervisor reads before the table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from live.attention import seconds_since


@dataclass(frozen=True, slots=True)
class FloorSummary:
    live: int
    waiting: int
    on_hold: int
    monitored: int
    longest_call_seconds: float
    longest_wait_seconds: float
    by_team: dict[str, int]


NO_TEAM = "(no team)"


def summarize(conferences: Iterable[Mapping[str, Any]], now_s: float) -> FloorSummary:
    live = waiting = on_hold = monitored = 0
    longest_call = longest_wait = 0.0
    teams: Counter[str] = Counter()
    for c in conferences:
        live += 1
        teams[c.get("team") or NO_TEAM] += 1
        age = seconds_since(c.get("started_at"), now_s)
        longest_call = max(longest_call, age)
        state = c.get("state")
        if state == "waiting":
            waiting += 1
            longest_wait = max(longest_wait, age)
        elif state == "hold":
            on_hold += 1
        if c.get("monitors"):
            monitored += 1
    return FloorSummary(
        live, waiting, on_hold, monitored, longest_call, longest_wait, dict(sorted(teams.items()))
    )
