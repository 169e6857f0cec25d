"""One-time tickets for a browser's EventSource, which cannot send an Authorization header.

A ticket stands for a credential the holder already proved (a dashboard
session, or a bearer token on `POST /api/events/ticket`): it names who holds
it, is good for one stream, and expires in about a minute. Redis keeps only
its SHA-256, so a copy of Redis holds nothing that opens a stream. Redeeming
is one `GETDEL`: two requests with the same ticket cannot both succeed, on
any number of service processes.

A ticket opens only the stream it was made for (`events`, `board` or
`transcript`), as the person and session it was made for; and only while the
credential that made it lives: a ticket minted from a key that is revoked
since, or from a session that signed out, opens nothing (the service checks
`key_id` and `session` when it redeems one). Minting is counted per person
and minute in Redis (one `INCR` on a key that expires), so one credential
cannot mint without limit on any number of processes.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson

from core.redis_client import AsyncRedis

TICKET_SECONDS = 60
# What a ticket opens: GET /events, /events/board, /events/transcript, one call's audio
# (/listen/audio, with `call`); or one recording's
# audio, "recording:RE…" (callbacks/recording_media.py), which opens nothing else.
STREAMS = ("events", "board", "transcript", "listen")
RECORDING = "recording:"
TICKET_BYTES = 24
MAX_TICKET_CHARS = 64  # longer is not one of ours: refused before Redis is asked


def recording_stream(recording_sid: str) -> str:
    """What a ticket for one recording's audio opens."""
    return RECORDING + recording_sid


@dataclass(frozen=True, slots=True)
class Holder:
    """Who a ticket was given to: `kind` is supervisor, agent (with their id) or service;
    `session` the dashboard session it came from (a stream ends when that session does);
    `key_id` the personal key that asked for it (the same, when that key is revoked);
    `stream` the one stream it opens; `until` when the credential behind it expires
    (an OIDC access token's exp), if it does; `call` the one call a `listen` ticket opens
    the audio of (issue 26: a ticket for hearing a call is for that call and person only)."""

    kind: str
    ident: str | None
    session: str | None = None
    key_id: str | None = None
    stream: str = "events"
    until: float | None = None
    call: str | None = None


class TooManyTickets(Exception):
    """This person asked for more tickets this minute than they may; the message says so."""


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


def _minted_key(namespace: str, holder: Holder, minute: int) -> str:
    person = hashlib.sha256(f"{holder.kind}:{holder.ident or ''}".encode()).hexdigest()[:32]
    return "{" + namespace + "}:tickets-minted:" + person + ":" + str(minute)


async def issue(
    redis: AsyncRedis, namespace: str, holder: Holder, per_minute: int | None = None
) -> Ticket:
    """A ticket for `holder`; with `per_minute`, TooManyTickets once that person has had
    that many this minute (each process of the service counts into the same key)."""
    if holder.stream not in STREAMS and not holder.stream.startswith(RECORDING):
        raise ValueError(f"a ticket opens one of {', '.join(STREAMS)}, not {holder.stream!r}")
    if per_minute is not None:
        minute = int(time.time() // 60)
        counted = _minted_key(namespace, holder, minute)
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(counted)
            pipe.expire(counted, 120)
            minted, _ = await pipe.execute()
        if int(minted) > per_minute:
            left = 60 - int(time.time() % 60)
            raise TooManyTickets(
                f"{per_minute} tickets a minute at most for one person: ask again in {left} s"
            )
    ticket = secrets.token_urlsafe(TICKET_BYTES)
    value = orjson.dumps(
        {
            "kind": holder.kind,
            "ident": holder.ident,
            "session": holder.session,
            "key_id": holder.key_id,
            "stream": holder.stream,
            "until": holder.until,
            "call": holder.call,
        }
    )
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
    until = data.get("until")
    return Holder(
        str(data["kind"]),
        data.get("ident"),
        data.get("session"),
        data.get("key_id"),
        str(data.get("stream") or "events"),
        float(until) if until is not None else None,
        data.get("call"),
    )
