"""Who is asking: a credential in the Authorization header (or a one-time ticket for a
browser's EventSource) becomes a `Principal`; `access.policy` says what it may do.

Credentials, told apart by their shape before anything is looked up:
- `epk_…`: a personal API key (a supervisor's, or an agent's softphone), one Redis read;
- three dot-separated parts: an OIDC access token (a JWT of EARPIECE_OIDC_ISSUER);
- anything else: compared, in constant time, with EARPIECE_API_TOKEN (read-only).

Long-lived credentials travel only in the header: a URL lands in access logs
and browser history, so `?token=` is refused with a message saying what to do.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request

from access import api_keys, oidc
from access.policy import TICKET, Denied, require
from access.principal import SERVICE_PRINCIPAL, Principal, resolve
from callbacks.context import Context
from callbacks.errors import ApiError, JSONResponse
from earpiece import tickets
from earpiece.tickets import Holder


def _refuse(message: str = "a valid credential is required (Authorization: Bearer …)") -> ApiError:
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": 'Bearer realm="earpiece"'})


async def authenticate(ctx: Context, credential: str) -> Principal | None:
    if api_keys.looks_like_key(credential):
        return await api_keys.authenticate(ctx.redis, ctx.settings.namespace, ctx.roster,
                                           credential)  # fmt: skip
    if ctx.oidc is not None and oidc.looks_like_jwt(credential):
        return await ctx.oidc.authenticate(credential)
    expected = ctx.settings.bearer_token
    if hmac.compare_digest(credential.encode(), expected.encode()):
        return SERVICE_PRINCIPAL
    return None


async def principal_of(request: Request, allow_ticket: bool = False) -> Principal:
    """The principal behind the request's bearer credential, or, where a stream allows it,
    behind a one-time ticket; 401 otherwise."""
    ctx: Context = request.app.state.ctx
    if "token" in request.query_params:
        raise _refuse("credentials never travel in a URL: send Authorization: Bearer …, "
                      "or a one-time ticket from POST /api/events/ticket")  # fmt: skip
    ticket = request.query_params.get("ticket") if allow_ticket else None
    if ticket is not None:
        holder = await tickets.redeem(ctx.redis, ctx.settings.namespace, ticket)
        found = (
            resolve(ctx.roster, holder.kind, holder.ident, "ticket", holder.session)
            if holder else None
        )  # fmt: skip
        if found is None:
            raise _refuse("the ticket is unknown, used or expired: ask for a new one")
        if holder is not None and holder.call is not None:
            # A listen ticket opens one call's audio and nothing else (callbacks/listen.py).
            raise _refuse("this ticket is for hearing a call, not for this stream")
        return found
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise _refuse()
    found = await authenticate(ctx, given.strip())
    if found is None:
        raise _refuse("the credential is unknown, revoked or expired")
    return found


async def authorize(request: Request, capability: str, allow_ticket: bool = False) -> Principal:
    """The principal, if it may use `capability` at all (403 otherwise)."""
    principal = await principal_of(request, allow_ticket)
    try:
        require(principal, capability)
    except Denied as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    return principal


async def issue_ticket(request: Request) -> JSONResponse:
    """`POST /api/events/ticket`: one stream's worth of the caller's own credential."""
    principal = await authorize(request, TICKET)
    ctx: Context = request.app.state.ctx
    holder = Holder(principal.kind, principal.ident)
    ticket = await tickets.issue(ctx.redis, ctx.settings.namespace, holder)
    return JSONResponse(ticket.json(), 201)
