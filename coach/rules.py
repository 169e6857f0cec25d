"""Who may use which mode on which call (CONTRACT.md, Roster).

lead: all modes, own teams; manager: all modes, all teams; qa: listen only,
all teams. The dashboard reflects these; the server enforces them here.
"""

from __future__ import annotations

from earpiece.roster import Supervisor

MODES = ("listen", "whisper", "barge")


def refusal(supervisor: Supervisor, mode: str, team: str | None) -> str | None:
    """Why `supervisor` may not use `mode` on a call of `team`, or None when they may."""
    if supervisor.role == "qa" and mode != "listen":
        return f"{supervisor.name} is QA and may only listen"
    if supervisor.role == "lead" and (team is None or team not in supervisor.teams):
        teams = ", ".join(supervisor.teams) or "no team"
        return f"{supervisor.name} leads {teams}; this call is {team or 'not on a team'}"
    return None


def allowed_modes(supervisor: Supervisor, team: str | None) -> dict[str, str | None]:
    """Each mode with the reason it is refused (None: allowed), for the dashboard's buttons."""
    return {mode: refusal(supervisor, mode, team) for mode in MODES}
