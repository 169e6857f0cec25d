"""access/modes.py in-process: the dashboard's Listen / Whisper / Barge buttons, derived
from the one authorization table (access/policy.py): a lead on their own teams, a manager
everywhere, QA listening only; no whisper with nobody to coach; one whisperer a call."""

from __future__ import annotations

from typing import Any

from access.modes import NO_AGENT, allowed_modes, availability, whisperer
from live.roster import Supervisor

ANA = Supervisor("ana", "Ana", "lead", ("sales-east",), "client:ana")
KEN = Supervisor("ken", "佐藤 健", "lead", ("support", "billing"), "client:ken")
MINA = Supervisor("mina", "Mina", "manager", (), "client:mina")
QUINCY = Supervisor("quincy", "Quincy", "qa", (), "client:quincy")


def call(team: str, *roles: str, whispering: str | None = None) -> dict[str, Any]:
    monitors = [{"supervisor": whispering, "mode": "whisper"}] if whispering else []
    return {"team": team, "participants": [{"role": r} for r in roles], "monitors": monitors}


def allowed(modes: dict[str, str | None]) -> list[str]:
    return [mode for mode, refused in modes.items() if refused is None]


def test_each_role_gets_the_buttons_the_table_gives_it() -> None:
    assert allowed(allowed_modes(ANA, "sales-east")) == ["listen", "whisper", "barge"]
    assert allowed(allowed_modes(ANA, "support")) == []
    assert allowed(allowed_modes(KEN, "billing")) == ["listen", "whisper", "barge"]
    assert allowed(allowed_modes(MINA, "support")) == ["listen", "whisper", "barge"]
    assert allowed(allowed_modes(QUINCY, "support")) == ["listen"]


def test_a_refused_button_says_why_in_the_supervisors_own_name() -> None:
    assert allowed_modes(ANA, "support")["listen"] == ("Ana leads sales-east; this call is support")
    assert allowed_modes(KEN, None)["barge"] == (
        "佐藤 健 leads support, billing; this call is not on a team"
    )
    assert allowed_modes(QUINCY, "support")["whisper"] == "Quincy is QA and may only listen"


def test_no_whisper_without_an_agent_to_coach() -> None:
    assert availability(MINA, call("support", "customer"))["whisper"] == NO_AGENT
    assert availability(MINA, call("support", "customer", "agent"))["whisper"] is None
    # A refusal of the table is kept over the missing agent: it says more.
    assert availability(QUINCY, call("support", "customer"))["whisper"] == (
        "Quincy is QA and may only listen"
    )


def test_the_other_whisperer_is_named_and_oneself_is_not() -> None:
    assert whisperer(call("support", "agent", whispering="ken"), besides="mina") == "ken"
    assert whisperer(call("support", "agent", whispering="mina"), besides="mina") is None
    assert whisperer(call("support", "agent"), besides="mina") is None
