"""Who may use which mode on which call (CONTRACT.md, Roster).

lead: all modes, own teams; manager: all modes, all teams; qa: listen only,
all teams. The dashboard reflects these; the server enforces them here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The rule of who may use which mode on which team's call is the authorization table's
# (access/policy.py); this module only derives the dashboard's buttons from it.
from access.policy import mode_refusal
from live.roster import Supervisor

MODES = ("listen", "whisper", "barge")
NO_AGENT = "nobody to coach: no agent is connected to this call"
refusal = mode_refusal


def allowed_modes(supervisor: Supervisor, team: str | None) -> dict[str, str | None]:
    """Each mode with the reason it is refused (None: allowed), for the dashboard's buttons."""
    return {mode: refusal(supervisor, mode, team) for mode in MODES}


def availability(supervisor: Supervisor, conference: Mapping[str, Any]) -> dict[str, str | None]:
    """allowed_modes for one live call (Conference JSON): also no whisper without an agent."""
    modes = allowed_modes(supervisor, conference.get("team"))
    has_agent = any(p.get("role") == "agent" for p in conference.get("participants") or ())
    if modes["whisper"] is None and not has_agent:
        modes["whisper"] = NO_AGENT
    return modes


def whisperer(conference: Mapping[str, Any], besides: str) -> str | None:
    """Who else whispers on this call (one whisperer per call), if anyone."""
    for monitor in conference.get("monitors") or ():
        if monitor.get("mode") == "whisper" and monitor.get("supervisor") != besides:
            return str(monitor["supervisor"])
    return None
