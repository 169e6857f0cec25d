"""The Agents page's agents at 1,000 (issue 27 §4): everyone of a manager's floor, a lead's own
teams only, filtered by team and state, longest in state first (the browser draws the cards by
the same rules: tests/chromium/test_agents_browser.py)."""

from __future__ import annotations

import random
import time
from typing import Any

from core.times import iso
from dashboard import agent_cards
from dashboard.agent_cards import ALL
from live.roster import Supervisor

TEAMS = ("sales-east", "sales-west", "support", "billing", None)
ACTIVITIES = ("Available", "Break", "Offline", "Lunch", "研修")


def floor_of(n: int, now_s: float) -> list[dict[str, Any]]:
    rng = random.Random(n)
    agents = []
    for i in range(n):
        phase = rng.choice([None, None, "assigned", "wrapping"])
        since = now_s - rng.randrange(1, 7200)
        agents.append({
            "agent": f"a{i:04d}", "worker_sid": f"WK{i:032x}", "name": f"エージェント {i}",
            "team": rng.choice(TEAMS), "activity": rng.choice(ACTIVITIES),
            "available": phase is None and rng.random() < 0.4, "since": iso(int(since * 1000)),
            "task_sid": f"WT{i:032x}" if phase else None,
            "conference_sid": f"CF{i:032x}" if phase == "assigned" else None, "phase": phase,
            "phase_since": iso(int((since + 1) * 1000)) if phase else None,
            "alerts": ["long-wrap-up"] if phase == "wrapping" and rng.random() < 0.3 else [],
            "attention": 0, "pending_change": None,
        })  # fmt: skip
    return agents


def test_a_thousand_agents_are_all_cards_filtered_and_sorted() -> None:
    now = time.time()
    agents = floor_of(1000, now)
    manager = Supervisor(id="mina", name="Mina", role="manager", teams=(), endpoint="client:mina")
    cards = agent_cards.visible(manager, agents)
    assert len(cards) == 1000, "no cap: idle, offline and teamless agents too"
    lead = Supervisor(
        id="ana", name="Ana", role="lead", teams=("sales-east",), endpoint="client:ana"
    )
    own = agent_cards.visible(lead, agents)
    assert own and all(c.team == "sales-east" for c in own)
    assert len(own) == sum(1 for a in agents if a["team"] == "sales-east")

    everyone = agent_cards.choose(cards, ALL, ALL, now)
    waits = [c.seconds_in_state(now) for c in everyone]
    assert waits == sorted(waits, reverse=True), "longest in state first"
    wrapping = agent_cards.choose(cards, "support", "wrap-up", now)
    assert wrapping and all(c.team == "support" and c.phase == "wrapping" for c in wrapping)
    on_break = agent_cards.choose(cards, ALL, "Break", now)
    assert all(c.activity == "Break" and c.phase is None for c in on_break)
    japanese = agent_cards.choose(cards, ALL, "研修", now)
    assert japanese and all(c.state == "研修" for c in japanese)

    assert "エージェント 999" in {c.name for c in cards}


def test_a_card_names_the_agent_as_the_roster_does_then_as_the_workspace_does() -> None:
    """The roster's display name (the floor's 鈴木 一郎 (uma)) before the Worker's friendly
    name, which comes before the ID: the Agents page shows people as the floor does."""
    now = time.time()
    agent = floor_of(1, now)[0]
    named = {**agent, "agent_name": "鈴木 一郎", "name": "uma"}
    assert agent_cards.card_of(named).name == "鈴木 一郎"
    assert agent_cards.card_of({**agent, "agent_name": None, "name": "uma"}).name == "uma"
    assert agent_cards.card_of({**agent, "agent_name": None, "name": ""}).name == agent["agent"]
