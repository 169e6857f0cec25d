"""The Agents page's cards (issue 27 §4): every agent of the supervisor's teams, idle and offline
too, as Flex's Teams View shows them but without its 200-agent cap.

Pure functions (no Streamlit) so that the page, the tests and bench/agent_cards.py share them:
`visible` picks the agents a supervisor sees (a lead: their teams; a manager or QA: all),
`choose` filters by team and activity and sorts by time in state (longest first, as a floor
manager scans for who has been on break or in wrap-up too long), and `cards_html` draws them
all as one block of HTML, every value escaped (names, reasons and activity names are text
someone typed; html.escape is the standard library's and enough for text in elements).
One block rather than a Streamlit element per agent: 1,000 cards are one element, so the
page draws in well under a second (bench/agent_cards.py).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from earpiece.roster import Supervisor

Json = dict[str, Any]
ALL = "All"


@dataclass(frozen=True)
class Card:
    agent: str | None
    worker_sid: str
    name: str
    team: str | None
    activity: str
    state: str  # on a call | wrap-up | available | the activity's name
    since_s: float | None  # when the shown state began (epoch seconds)
    conference_sid: str | None
    task_sid: str | None
    phase: str | None
    alerts: tuple[str, ...]
    pending: Json | None

    def seconds_in_state(self, now_s: float) -> int:
        return int(max(0.0, now_s - self.since_s)) if self.since_s else 0


def _epoch(value: Any) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def card_of(agent: Mapping[str, Any]) -> Card:
    """A card from the contract's Agent (live/queues.py `agents`)."""
    phase = agent.get("phase")
    activity = str(agent.get("activity") or "—")
    if phase == "assigned":
        state, since = "on a call", _epoch(agent.get("phase_since"))
    elif phase == "wrapping":
        state, since = "wrap-up", _epoch(agent.get("phase_since"))
    else:
        state, since = (
            ("available" if agent.get("available") else activity),
            _epoch(agent.get("since")),
        )
    return Card(
        agent=agent.get("agent"), worker_sid=str(agent["worker_sid"]),
        name=str(agent.get("name") or agent.get("agent") or agent["worker_sid"]),
        team=agent.get("team"), activity=activity, state=state, since_s=since,
        conference_sid=agent.get("conference_sid"), task_sid=agent.get("task_sid"),
        phase=phase, alerts=tuple(agent.get("alerts") or ()),
        pending=agent.get("pending_change"),
    )  # fmt: skip


def visible(who: Supervisor, agents: Iterable[Mapping[str, Any]]) -> list[Card]:
    """A lead sees their teams' agents; a manager and QA see every agent (workers on no team
    too, so a Workspace's stray worker is never invisible)."""
    cards = [card_of(a) for a in agents]
    if who.role == "lead":
        return [c for c in cards if c.team in who.teams]
    return cards


def choose(cards: Iterable[Card], team: str, activity: str, now_s: float) -> list[Card]:
    """Filtered by team and by state ("on a call", "wrap-up", "available" or an activity),
    longest in their state first."""
    out = [c for c in cards if (team == ALL or c.team == team)
           and (activity == ALL or c.state == activity)]  # fmt: skip
    out.sort(key=lambda c: (-c.seconds_in_state(now_s), c.name))
    return out


def clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


STATE_CLASS = {"on a call": "busy", "wrap-up": "wrap", "available": "free"}

STYLE = """
<style>
.ep-cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr));
  gap: 8px; }
.ep-card { border: 1px solid #8884; border-left: 6px solid #999; border-radius: 6px;
  padding: 6px 8px; font-size: 0.85rem; line-height: 1.35; }
.ep-card.free { border-left-color: #2e7d32; } .ep-card.busy { border-left-color: #1565c0; }
.ep-card.wrap { border-left-color: #ef6c00; } .ep-card.alert { background: #c6282818; }
.ep-card .n { font-weight: 600; } .ep-card .t { float: right; font-variant-numeric: tabular-nums; }
.ep-card .p { color: #ad1457; } .ep-card .a { color: #c62828; font-weight: 600; }
</style>
"""


def _card_html(card: Card, now_s: float) -> str:
    e = html.escape
    classes = ["ep-card", STATE_CLASS.get(card.state, "away")]
    if card.alerts:
        classes.append("alert")
    lines = [
        f'<div class="{" ".join(classes)}" data-agent="{e(card.agent or card.worker_sid)}">',
        f'<span class="n">{e(card.name)}</span>'
        f'<span class="t">{clock(card.seconds_in_state(now_s))}</span><br>',
        f"{e(card.state)} · {e(card.team or 'no team')}",
    ]
    if card.conference_sid:
        lines.append(f"<br>call {e(card.conference_sid[-8:])}")
    if card.alerts:
        lines.append(f'<br><span class="a">{e(", ".join(card.alerts))}</span>')
    if card.pending:
        pending = card.pending
        if pending.get("error"):
            text = f"after-call change failed: {pending['error']}"
        else:
            reason = f" — {pending.get('reason')}" if pending.get("reason") else ""
            text = f"after this call: {pending.get('activity')} (by {pending.get('by')}){reason}"
        lines.append(f'<br><span class="p">{e(text)}</span>')
    lines.append("</div>")
    return "".join(lines)


def cards_html(cards: Iterable[Card], now_s: float) -> str:
    body = "".join(_card_html(c, now_s) for c in cards)
    return f'{STYLE}<div class="ep-cards">{body}</div>'
