"""The floor as a table: filters, order and rows, without Streamlit (tested directly).

The order itself is live/'s rule (live.attention); this only chooses which
one the supervisor asked for and turns conferences into the table's rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from live.attention import attention, clock, held_since, order, seconds_since

ORDERS = ("Needs attention first", "Longest call first", "Newest first", "Agent A to Z")
STATES = ("waiting", "talking", "hold")
COLUMNS = ("Agent", "Team", "Queue", "Customer", "State", "Duration", "On hold", "Holds",
           "Monitoring", "Speaking", "Agent talk", "Silence", "Alerts", "Attention",
           "Why")  # fmt: skip
# Silence shorter than this is a pause, not worth a cell.
SILENCE_SHOWN_SECONDS = 5

Conference = Mapping[str, Any]


@dataclass(frozen=True)
class Filters:
    teams: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    agent: str = ""
    order: str = ORDERS[0]
    limit: int = 200

    def keeps(self, c: Conference) -> bool:
        if self.teams and (c.get("team") or "") not in self.teams:
            return False
        if self.queues and (c.get("queue") or "") not in self.queues:
            return False
        if self.states and c.get("state") not in self.states:
            return False
        needle = self.agent.strip().lower()
        return not needle or needle in (c.get("agent") or "").lower()


def mask_number(number: str | None, mask: bool) -> str:
    """+15551234567 -> +•••••••4567: enough to tell two callers apart, not to dial one."""
    if not number:
        return ""
    if not mask:
        return number
    keep = 4
    head = "+" if number.startswith("+") else ""
    body = number[len(head) :]
    if len(body) <= keep:
        return head + "•" * len(body)
    return head + "•" * (len(body) - keep) + body[-keep:]


def choose(conferences: Iterable[Conference], filters: Filters, now_s: float) -> list[Conference]:
    """The conferences the filters keep, in the order asked for."""
    kept = [c for c in conferences if filters.keeps(c)]
    if filters.order == "Longest call first":
        kept.sort(key=lambda c: c.get("started_at") or "")
    elif filters.order == "Newest first":
        kept.sort(key=lambda c: c.get("started_at") or "", reverse=True)
    elif filters.order == "Agent A to Z":
        kept.sort(key=lambda c: ((c.get("agent") or "~").lower(), c.get("started_at") or ""))
    else:
        kept = order(kept, now_s)
    return kept


def customer_number(c: Conference) -> str | None:
    for p in c.get("participants") or ():
        if p.get("role") == "customer":
            return str(p["number"]) if p.get("number") else None
    return None


def speaking(c: Conference) -> str:
    who = [p.get("role") for p in c.get("participants") or () if p.get("speaking")]
    talkers = [r for r in ("agent", "customer") if r in who]
    return " + ".join(talkers)


def monitoring(c: Conference) -> str:
    parts = []
    for m in c.get("monitors") or ():
        status = " · dialing" if m.get("status") == "dialing" else ""
        parts.append(f"{m['supervisor']} ({m['mode']}{status})")
    return ", ".join(parts)


def agent_talk(c: Conference) -> str:
    """The agent's share of the talking so far (a rep who talks 90% is not listening)."""
    share = ((c.get("signals") or {}).get("talk_share") or {}).get("agent")
    return f"{share:.0%}" if share is not None else ""


def silence(c: Conference, now_s: float) -> str:
    quiet = seconds_since((c.get("signals") or {}).get("silent_since"), now_s)
    return clock(quiet) if quiet >= SILENCE_SHOWN_SECONDS else ""


def alerts(c: Conference) -> str:
    """Help first and loud; the rest as they come."""
    names = list(c.get("alerts") or ())
    loud = ["HELP"] if "help" in names else []
    return " · ".join(loud + [a for a in names if a != "help"])


def row(c: Conference, now_s: float, mask: bool) -> dict[str, Any]:
    need = attention(c, now_s)
    hold = held_since(c) if c.get("state") == "hold" else None
    holds = (c.get("signals") or {}).get("holds") or 0
    return {
        "Agent": c.get("agent") or "—",
        "Team": c.get("team") or "",
        "Queue": c.get("queue") or "",
        "Customer": mask_number(customer_number(c), mask),
        "State": c.get("state") or "",
        "Duration": clock(seconds_since(c.get("started_at"), now_s)),
        "On hold": clock(seconds_since(hold, now_s)) if hold else "",
        "Holds": str(holds) if holds else "",
        "Monitoring": monitoring(c),
        "Speaking": speaking(c),
        "Agent talk": agent_talk(c),
        "Silence": silence(c, now_s),
        "Alerts": alerts(c),
        "Attention": need.score,
        "Why": "; ".join(need.reasons),
    }


def table(rows_of: Sequence[Conference], now_s: float, mask: bool) -> pd.DataFrame:
    frame = pd.DataFrame([row(c, now_s, mask) for c in rows_of], columns=list(COLUMNS))
    frame.index = pd.Index([c["sid"] for c in rows_of], name="sid")
    return frame


def options(conferences: Iterable[Conference], key: str) -> list[str]:
    return sorted({str(c.get(key)) for c in conferences if c.get(key)})
