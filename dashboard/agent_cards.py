"""The Agents page's agents (issue 27 §4): every agent of the supervisor's teams, idle and
offline too, as Flex's Teams View shows them but without its 200-agent cap.

The cards themselves are drawn by the browser (dashboard/board_component/board.js, its
`agents` mode, the same rules: a lead's teams, the filters, longest in state first) from the
queues stream; these pure functions are the page's Python side of the same rules, for the
agents its controls offer and the stuck wrap-ups it lists: `visible` picks the agents a
supervisor sees (a lead: their teams; a manager or QA: all), `choose` filters by team and
state and sorts by time in state (longest first, as a floor manager scans for who has been
on break or in wrap-up too long).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.times import ms_of
from dashboard.i18n import N_, _
from live.roster import Supervisor

Json = dict[str, Any]
ALL = N_("All")  # a filter's value; shown in the reader's words
# The states a card is in that are Earpiece's words (the rest are TaskRouter activities'
# names, as the Workspace names them: shown as they are).
STATES = {"on a call": N_("on a call"), "wrap-up": N_("wrap-up"), "available": N_("available")}


def state_label(state: str) -> str:
    """A card's state or filter value in the reader's words (an activity's name as it is)."""
    if state == ALL:
        return _(ALL)
    return _(STATES[state]) if state in STATES else state


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
        return ms_of(str(value)) / 1000
    except (ValueError, OverflowError):
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
        agent=agent.get("agent"),
        worker_sid=str(agent["worker_sid"]),
        # The roster's display name first (鈴木 一郎), as the floor and the call page show
        # the agent, then the Worker's friendly name, then the ID.
        name=str(
            agent.get("agent_name")
            or agent.get("name")
            or agent.get("agent")
            or agent["worker_sid"]
        ),
        team=agent.get("team"),
        activity=activity,
        state=state,
        since_s=since,
        conference_sid=agent.get("conference_sid"),
        task_sid=agent.get("task_sid"),
        phase=phase,
        alerts=tuple(agent.get("alerts") or ()),
        pending=agent.get("pending_change"),
    )


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
    out = [
        c
        for c in cards
        if (team == ALL or c.team == team) and (activity == ALL or c.state == activity)
    ]
    out.sort(key=lambda c: (-c.seconds_in_state(now_s), c.name))
    return out
