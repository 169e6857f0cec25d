"""A principal: who a credential says is asking, resolved against the roster."""

from __future__ import annotations

from dataclasses import dataclass

from live.roster import Roster, Supervisor

SUPERVISOR, AGENT, SERVICE = "supervisor", "agent", "service"
KINDS = (SUPERVISOR, AGENT, SERVICE)


@dataclass(frozen=True, slots=True)
class Principal:
    """`kind` is supervisor, agent or service; `ident` the roster id (None for the service);
    `via` the credential that proved it (api-key, oidc, service-token, session, ticket)."""

    kind: str
    ident: str | None
    via: str
    role: str | None = None  # a supervisor's roster role (lead, manager, qa)
    teams: tuple[str, ...] = ()
    session: str | None = None  # a dashboard session's key, for what it opened
    # The personal key that proved it (a stream it opened ends when that key is revoked),
    # and when the credential expires (an OIDC access token's exp), if it does.
    key_id: str | None = None
    until: float | None = None

    @property
    def is_supervisor(self) -> bool:
        return self.kind == SUPERVISOR

    def audit_name(self) -> str:
        return self.ident or "service"

    @property
    def person(self) -> str:
        """Who, for fair shares: one person whatever credential they use (the service token
        is one person too)."""
        return f"{self.kind}:{self.ident or ''}"


SERVICE_PRINCIPAL = Principal(SERVICE, None, "service-token", role=None)


def of_supervisor(who: Supervisor, via: str, session: str | None = None) -> Principal:
    return Principal(SUPERVISOR, who.id, via, role=who.role, teams=who.teams, session=session)


def resolve(
    roster: Roster, kind: str, ident: str | None, via: str, session: str | None = None
) -> Principal | None:
    """The principal `kind`/`ident` names today, or None when the roster no longer has them
    (a credential outlives nobody: removing someone from the roster locks them out)."""
    if kind == SERVICE:
        return Principal(SERVICE, None, via)
    if ident is None:
        return None
    if kind == SUPERVISOR:
        who = roster.supervisors.get(ident)
        return of_supervisor(who, via, session) if who is not None else None
    if kind == AGENT:
        team = roster.team_for(ident)
        if team is None:
            return None
        return Principal(AGENT, ident, via, role="agent", teams=(team.name,))
    return None
