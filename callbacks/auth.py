"""Who is asking: a credential in the Authorization header (or a one-time ticket for a
browser's EventSource) becomes a `Principal`; `access.policy` says what it may do.

Credentials, told apart by their shape before anything is looked up:
- `epk_…`: a personal API key (a supervisor's, or an agent's softphone), one Redis read;
- three dot-separated parts: an OIDC access token (a JWT of EARPIECE_OIDC_ISSUER);
- anything else: compared, in constant time, with EARPIECE_API_TOKEN (read-only).

A signed-in supervisor's dashboard session is a credential too, under its own scheme
(`Authorization: Session <token>`): the dashboard acts through this API with it, like
any other client (one authorization path, one audit); it resolves to the same principal
as that supervisor's personal key, and ends when the session does (sign-out, maximum age).

Long-lived credentials travel only in the header: a URL lands in access logs
and browser history, so `?token=` is refused with a message saying what to do.
"""

from __future__ import annotations

import hmac
from dataclasses import replace

from starlette.requests import Request

from access import api_keys, oidc
from access.policy import TICKET, Denied, require
from access.principal import SERVICE_PRINCIPAL, Principal, of_supervisor, resolve
from callbacks.context import Context
from callbacks.errors import ApiError, JSONResponse
from core import tickets
from core.tickets import Holder


def _refuse(message: str = "a valid credential is required (Authorization: Bearer …)") -> ApiError:
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": 'Bearer realm="earpiece"'})


async def authenticate(ctx: Context, credential: str) -> Principal | None:
    if api_keys.looks_like_key(credential):
        return await api_keys.authenticate(
            ctx.redis, ctx.settings.namespace, ctx.roster, credential
        )
    if ctx.oidc is not None and oidc.looks_like_jwt(credential):
        return await ctx.oidc.authenticate(credential)
    expected = ctx.settings.bearer_token
    if hmac.compare_digest(credential.encode(), expected.encode()):
        return SERVICE_PRINCIPAL
    return None


async def of_session(ctx: Context, token: str) -> Principal:
    """The supervisor whose dashboard session `token` opens (401 when it is unknown, signed
    out or past its maximum age, or its supervisor left the roster)."""
    if ctx.sessions is None:
        raise _refuse("this service takes no dashboard sessions (EARPIECE_SESSION_SECRET is unset)")
    session = await ctx.sessions.check(token)
    who = ctx.roster.supervisors.get(session.supervisor) if session is not None else None
    if session is None or who is None:
        raise _refuse("the session is unknown, signed out or expired: sign in again")
    return of_supervisor(who, "session", session.key)


async def _redeem(ctx: Context, ticket: str, stream: str) -> Principal:
    """The principal a ticket was made for, if it was made for `stream` and the credential
    that asked for it still lives (a ticket minted before a revocation opens nothing)."""
    holder = await tickets.redeem(ctx.redis, ctx.settings.namespace, ticket)
    found = (
        resolve(ctx.roster, holder.kind, holder.ident, "ticket", holder.session) if holder else None
    )
    if holder is None or found is None:
        raise _refuse("the ticket is unknown, used or expired: ask for a new one")
    if holder.stream != stream:
        raise _refuse(
            f"this ticket was made for the {holder.stream} stream, not {stream}: "
            f"ask for one with ?stream={stream}"
        )
    found = replace(found, key_id=holder.key_id, until=holder.until)
    ended = await ctx.liveness.ended(found, fresh=True)
    if ended is not None:
        raise _refuse(f"the credential this ticket was made from is {ended.replace('-', ' ')}")
    return found


async def principal_of(request: Request, ticket_for: str | None = None) -> Principal:
    """The principal behind the request's bearer credential, or, where a stream allows it
    (`ticket_for` names it), behind a one-time ticket made for that stream; 401 otherwise."""
    ctx: Context = request.app.state.ctx
    if "token" in request.query_params:
        raise _refuse(
            "credentials never travel in a URL: send Authorization: Bearer …, "
            "or a one-time ticket from POST /api/events/ticket"
        )
    ticket = request.query_params.get("ticket") if ticket_for else None
    if ticket is not None and ticket_for is not None:
        return await _redeem(ctx, ticket, ticket_for)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "session" and given.strip():
        return await of_session(ctx, given.strip())
    if scheme.lower() != "bearer" or not given.strip():
        raise _refuse()
    found = await authenticate(ctx, given.strip())
    if found is None:
        raise _refuse("the credential is unknown, revoked or expired")
    return found


async def authorize(request: Request, capability: str, ticket_for: str | None = None) -> Principal:
    """The principal, if it may use `capability` at all (403 otherwise)."""
    principal = await principal_of(request, ticket_for)
    return permitted(principal, capability)


def permitted(principal: Principal, capability: str) -> Principal:
    """`principal`, if it may use `capability` at all (403 otherwise)."""
    try:
        require(principal, capability)
    except Denied as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    return principal


async def issue_ticket(request: Request) -> JSONResponse:
    """`POST /api/events/ticket[?stream=events|board|transcript]`: one stream's worth of the
    caller's own credential, for that stream only (`events` when unsaid)."""
    principal = await authorize(request, TICKET)
    ctx: Context = request.app.state.ctx
    stream = request.query_params.get("stream") or "events"
    if stream not in tickets.STREAMS:
        raise ApiError(422, "bad-stream", f"stream must be one of {', '.join(tickets.STREAMS)}")
    holder = Holder(
        principal.kind,
        principal.ident,
        principal.session,
        principal.key_id,
        stream,
        principal.until,
    )
    try:
        ticket = await tickets.issue(
            ctx.redis, ctx.settings.namespace, holder, ctx.settings.tickets_per_minute
        )
    except tickets.TooManyTickets as exc:
        raise ApiError(429, "too-many-tickets", str(exc), {"Retry-After": "60"}) from None
    return JSONResponse({**ticket.json(), "stream": stream}, 201)
