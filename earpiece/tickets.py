"""One-time tickets for a browser's EventSource, which cannot send an Authorization header.

A ticket stands for a credential the holder already proved (a dashboard
session, or a bearer token on `POST /api/events/ticket`): it names who holds
it, is good for one stream, and expires in about a minute. Redis keeps only
its SHA-256, so a copy of Redis holds nothing that opens a stream. Redeeming
is one `GETDEL`: two requests with the same ticket cannot both succeed, on
any number of service processes.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson

from earpiece.redis_client import AsyncRedis

TICKET_SECONDS = 60
TICKET_BYTES = 24
MAX_TICKET_CHARS = 64  # longer is not one of ours: refused before Redis is asked


@dataclass(frozen=True, slots=True)
class Holder:
    """Who a ticket was given to: `kind` is supervisor, agent (with their id) or service;
    `session` the dashboard session it came from (a stream ends when that session does);
    `call` the one call a listen ticket opens audio of (issue 26: a ticket for hearing a
    call is for that call and that person only); `key` the personal API key it came from,
    so that revoking the key ends what the ticket opened."""

    kind: str
    ident: str | None
    session: str | None = None
    call: str | None = None
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Ticket:
    ticket: str
    expires_at: float  # epoch seconds

    def json(self) -> dict[str, Any]:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.expires_at))
        return {"ticket": self.ticket, "expires_at": stamp}


def _key(namespace: str, ticket: str) -> str:
    digest = hashlib.sha256(ticket.encode()).hexdigest()
    return "{" + namespace + "}:ticket:" + digest


async def issue(redis: AsyncRedis, namespace: str, holder: Holder) -> Ticket:
    ticket = secrets.token_urlsafe(TICKET_BYTES)
    value = orjson.dumps({"kind": holder.kind, "ident": holder.ident, "session": holder.session,
                          "call": holder.call, "key": holder.key})  # fmt: skip
    await redis.set(_key(namespace, ticket), value, ex=TICKET_SECONDS)
    return Ticket(ticket, time.time() + TICKET_SECONDS)


async def redeem(redis: AsyncRedis, namespace: str, ticket: str) -> Holder | None:
    """Who holds `ticket`, once; None when it is unknown, used or expired."""
    if not ticket or len(ticket) > MAX_TICKET_CHARS:
        return None
    raw: Any = await redis.getdel(_key(namespace, ticket))
    if raw is None:
        return None
    data = orjson.loads(raw)
    return Holder(str(data["kind"]), data.get("ident"), data.get("session"), data.get("call"),
                  data.get("key"))  # fmt: skip
