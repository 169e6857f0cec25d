"""What each kind of principal may do: one table, enforced by the service (the dashboard acts
through it, and asks this table only to offer or grey out its controls).

Capabilities are coarse (who may ask at all); the finer rules live beside
them here (`acting_as`, `own_call`) or in `access.modes` (a role's modes on a
team), and are applied to the principal, never to what a body claims.
"""

from __future__ import annotations

from access.principal import AGENT, SERVICE, SUPERVISOR, Principal
from live.roster import Roster, Supervisor

# A words scope is this table's answer too: surfaces import it from here.
from live.words import NO_WORDS as NO_WORDS
from live.words import WordsScope as WordsScope
from live.words import in_scope as in_scope

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
# Hear a live call's audio in the browser (issue 26): a person who may join it listen-only.
HEAR_CALL = "hear-call"
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
    HEAR_CALL: frozenset({SUPERVISOR}),
    RUN_FLOOR: frozenset({SUPERVISOR}),
}

# What the shared token may not read, said as its refusal names it: reads that are a person's.
PERSONAL_READS: dict[str, str] = {
    READ_AUDIT: "the audit",
    READ_TRANSCRIPT: "a call's words",
    READ_HISTORY: "the archive of ended calls",
    HEAR_CALL: "a call's audio",
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
    if principal.kind == SERVICE and capability in PERSONAL_READS:
        # A read, refused: "act with..." would send the reader looking for the wrong thing.
        return f"{who} reads the floor, not {PERSONAL_READS[capability]}: use a personal credential"
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


# -- a call's words (issue 22): they follow listening -----------------------------------------


def own_teams(role: str | None, teams: tuple[str, ...]) -> tuple[str, ...] | None:
    """The teams whose calls a supervisor of `role` (leading `teams`) reaches: a lead only
    their own; None for a manager and QA, who reach every team. The one place this rule is
    written: listening, the words, the archive's search and the dashboard's Calls page ask it."""
    return teams if role == "lead" else None


def reaches_team(role: str | None, teams: tuple[str, ...], team: str | None) -> bool:
    """Whether a supervisor of `role` (leading `teams`) may listen to a call of `team`.
    access.modes asks this too."""
    reached = own_teams(role, teams)
    return reached is None or (team is not None and team in reached)


def words_scope(principal: Principal) -> WordsScope:
    """Whose words `principal` may read: exactly the calls they may listen to. An agent's
    softphone and the shared service token (a wallboard) get none."""
    if principal.kind != SUPERVISOR:
        return NO_WORDS
    reached = own_teams(principal.role, principal.teams)
    return None if reached is None else frozenset(reached)


def hears(principal: Principal, team: str | None) -> bool:
    """May `principal` have the words of a call of `team` (its transcript, last line, phrase)?"""
    return principal.kind == SUPERVISOR and reaches_team(principal.role, principal.teams, team)


def words_refusal(principal: Principal, team: str | None) -> str | None:
    """Why `principal` may not read a call's words, in one line; None when they may."""
    if hears(principal, team):
        return None
    if principal.kind != SUPERVISOR:
        return refusal(principal, READ_TRANSCRIPT) or "only supervisors read a call's words"
    teams = ", ".join(principal.teams) or "no team"
    return (
        f"supervisor {principal.ident} leads {teams}; a call of {team or 'no team'} is "
        "not theirs to hear, nor its words"
    )


def sees_full_numbers(principal: Principal, roles: tuple[str, ...]) -> bool:
    """The one rule for customers' numbers, on every surface (issue 25): whole only to a
    supervisor whose role the roster's `[access] full_numbers` names, and only where that
    one person reads (the API, /events, the call and Calls pages). Whatever many readers
    share is masked for all: the board stream and the queues/wallboard are encoded once for
    every watcher, whatever their role, and a wallboard hangs where anyone passes."""
    return principal.kind == SUPERVISOR and principal.role in roles


def mode_refusal(supervisor: Supervisor, mode: str, team: str | None) -> str | None:
    """Why `supervisor` may not use `mode` (listen, whisper, barge) on a call of `team`, or
    None when they may: QA only listens; a lead reaches their own teams, a manager and QA
    every team (`reaches_team`, the same rule as reading a call's words)."""
    if supervisor.role == "qa" and mode != "listen":
        return f"{supervisor.name} is QA and may only listen"
    if not reaches_team(supervisor.role, supervisor.teams, team):
        teams = ", ".join(supervisor.teams) or "no team"
        return f"{supervisor.name} leads {teams}; this call is {team or 'not on a team'}"
    return None


def hear_refusal(principal: Principal, roster: Roster, team: str | None) -> str | None:
    """Why `principal` may not hear a call of `team` in the browser, or None when they may.

    Listening in the browser is monitoring: the same rule as joining listen-only
    (access/modes.py: a lead, their own teams; a manager or QA, every team), applied to who
    the roster says the principal is today."""
    reason = refusal(principal, HEAR_CALL)
    if reason is not None:
        return reason
    supervisor = roster.supervisors.get(principal.ident or "")
    if supervisor is None:
        return f"{principal.ident} is not on the roster"
    return mode_refusal(supervisor, "listen", team)
