"""What each kind of principal may do: one table, enforced by the service and the dashboard.

Capabilities are coarse (who may ask at all); the finer rules live beside
them here (`acting_as`, `own_call`) or in `coach.rules` (a role's modes on a
team), and are applied to the principal, never to what a body claims.
"""

from __future__ import annotations

from access.principal import AGENT, SERVICE, SUPERVISOR, Principal

READ_FLOOR = "read-floor"  # conferences, queues, agents, the board, follows
FIND_CALL = "find-call"  # GET /api/calls/{sid}: an agent only for its own call
ACT = "act"  # join, switch, leave, cards, follow: as themselves
ASK_HELP = "ask-help"  # an agent's help request on its own call
READ_AUDIT = "read-audit"
STREAM = "stream"  # /events: an agent receives only the cards sent to it
TICKET = "ticket"  # a one-time ticket for its own credential
READ_TRANSCRIPT = "read-transcript"  # a call's words: people only, never the shared token
PAUSE_TRANSCRIPT = "pause-transcript"  # for a payment: a supervisor, or the call's agent
READ_HISTORY = "read-history"  # the archive of ended calls: search, hear, review (people)
# Running the floor (issue 27): an agent's activity, a stuck wrap-up, ending a call or
# removing a leg. Who: the team's lead and managers (`may_run`), never QA or a token.
RUN_FLOOR = "run-floor"

ALLOWED: dict[str, frozenset[str]] = {
    READ_FLOOR: frozenset({SUPERVISOR, SERVICE}),
    FIND_CALL: frozenset({SUPERVISOR, SERVICE, AGENT}),
    ACT: frozenset({SUPERVISOR}),
    ASK_HELP: frozenset({AGENT}),
    READ_AUDIT: frozenset({SUPERVISOR}),
    STREAM: frozenset({SUPERVISOR, SERVICE, AGENT}),
    TICKET: frozenset({SUPERVISOR, SERVICE, AGENT}),
    READ_TRANSCRIPT: frozenset({SUPERVISOR}),
    PAUSE_TRANSCRIPT: frozenset({SUPERVISOR, AGENT}),
    READ_HISTORY: frozenset({SUPERVISOR}),
    RUN_FLOOR: frozenset({SUPERVISOR}),
}

# Roles that see customers' full numbers unless the roster says otherwise
# ([access] full_numbers = [...]): nobody, by default.
DEFAULT_FULL_NUMBER_ROLES: tuple[str, ...] = ()


class Denied(Exception):
    """The principal may not do this; the message says why, in one line."""


def refusal(principal: Principal, capability: str) -> str | None:
    if principal.kind in ALLOWED[capability]:
        return None
    who = {SERVICE: "the service token", AGENT: f"agent {principal.ident}"}.get(
        principal.kind, f"supervisor {principal.ident}"
    )
    if principal.kind == SERVICE:
        return f"{who} only reads the floor; act with a personal credential"
    return f"{who} may not do this ({capability})"


def require(principal: Principal, capability: str) -> None:
    reason = refusal(principal, capability)
    if reason is not None:
        raise Denied(reason)


def acting_as(principal: Principal, named: str | None) -> str:
    """The supervisor an action is taken as: the principal; a body or path that names
    someone else is refused (a body never says who acts)."""
    require(principal, ACT)
    assert principal.ident is not None
    if named is not None and named != principal.ident:
        raise Denied(f"signed in as {principal.ident}: you cannot act as {named}")
    return principal.ident


def own_call(principal: Principal, label: str | None) -> None:
    """An agent may touch only a call whose leg carries its own label."""
    if principal.kind == AGENT and label != f"agent:{principal.ident}":
        raise Denied(f"agent {principal.ident} may only use its own calls")


def may_run(principal: Principal, team: str | None, what: str) -> str:
    """The supervisor who runs the floor of `team` (an agent's, a call's): a manager
    anywhere, a lead on their own teams; QA never (they listen and review). Returns
    the principal's id; a refusal says why in one line."""
    require(principal, RUN_FLOOR)
    assert principal.ident is not None
    if principal.role == "manager":
        return principal.ident
    if principal.role == "lead" and team is not None and team in principal.teams:
        return principal.ident
    if principal.role == "lead":
        teams = ", ".join(principal.teams) or "no team"
        raise Denied(f"{principal.ident} leads {teams}; {what} is {team or 'on no team'}")
    raise Denied(
        f"{principal.ident} is {principal.role or 'not a lead'}: only the team's "
        "lead and managers run the floor"
    )


def may_see_audit_entry(principal: Principal, agent_team: str | None, supervisor: str) -> bool:
    """Managers and QA read the whole audit; a lead, their own actions and their teams' calls."""
    if principal.role in ("manager", "qa"):
        return True
    return supervisor == principal.ident or (
        agent_team is not None and agent_team in principal.teams
    )


def sees_full_numbers(principal: Principal, roles: tuple[str, ...]) -> bool:
    return principal.kind == SUPERVISOR and principal.role in roles
