"""`GET /events`: the change feed as Server-Sent Events.

Each change is an event `conference` (the whole Conference JSON) or
`conference-ended` (`{"sid"}`), with the Redis Stream id as its SSE id. A
client that reconnects with `Last-Event-ID` gets every change after that id,
in order, and then the live ones, with neither gap nor repeat at the seam:
the subscription to the process's fan-out is taken *before* the catch-up read,
and live messages at or below the last id sent are skipped.

When the id is older than what the bounded Stream still holds (or with
`?snapshot=1`), the client gets `reset` (drop what you hold), one
`conference` event per live conference, then `sync` carrying the id from
which the live changes continue.

Words (issue 22): `transcript` lines, a conference's `transcript.last` and its phrase
alerts' words reach only a reader who may listen to that call (a lead, their own teams'
calls; the service token and an agent's softphone, none), and a reader who gets any is
audited once when the stream opens. The stream ends (`revoked`, `signed-out`, `expired`)
within CHECK_SECONDS of its credential ending, on whichever process holds it; a ticket
opens it only if it was made for it (`?stream=events`, the default); one person holds at
most EARPIECE_STREAMS_PER_PERSON streams in a process (429 beyond).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import orjson
from redis.exceptions import RedisError
from sse_starlette import EventSourceResponse
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from access.liveness import CHECK_SECONDS
from access.policy import NO_WORDS, STREAM, sees_full_numbers, words_scope
from access.principal import AGENT, Principal
from callbacks import words
from callbacks.auth import authorize
from callbacks.context import Context
from callbacks.errors import PRIVATE, ApiError
from callbacks.shares import Share
from live import privacy
from live import words as live_words
from live.feed import Message, Subscription, id_key

# sse_starlette logs every chunk it sends at DEBUG: the words of every call (and a number
# sent before its window judged it a card, live/redact.py) would be in the logs of whoever
# turns DEBUG on. What a stream sends is never logged.
logging.getLogger("sse_starlette.sse").setLevel(logging.INFO)

CATCH_UP_BATCH = 500
# At most this many queued changes go out in one write to a slow reader.
SEND_BATCH = 256


def encode(message_id: str | None, event: str, data: str) -> bytes:
    """One SSE event. Data is compact JSON, so it is always a single line."""
    head = f"id: {message_id}\r\n" if message_id is not None else ""
    return f"{head}event: {event}\r\ndata: {data}\r\n\r\n".encode()


def wire(message: Message, sub: Subscription, country: str | None = None) -> bytes:
    """The message's bytes, encoded once for every reader who sees the same (a conference
    with a customer's number or words has other encodings: masked, without the words);
    `country`: the floor's (one per process), whose numbers are written nationally."""
    return message.wire_for(
        sub.full_numbers,
        sub.hears(message),
        lambda data: encode(message.id, message.event, data),
        country,
    )


async def _snapshot(ctx: Context, sub: Subscription) -> tuple[str, bytes]:
    # The cursor is read before the listing: a change that lands in between
    # is both in the listing and replayed after it, never lost (each event
    # carries the whole conference, so a repeat is harmless).
    cursor = await ctx.floor.feed_last_id()
    parts = [encode(None, "reset", "{}")]
    live = 0
    if sub.agent is None:  # an agent's softphone gets its cards, not the floor
        conferences = live_words.all_for_scope(
            privacy.for_reader(
                await ctx.floor.conferences(), sub.full_numbers, ctx.settings.country
            ),
            sub.scope,
        )
        live = len(conferences)
        parts += [encode(None, "conference", orjson.dumps(c).decode()) for c in conferences]
        # A TaskRouter floor's queues and agents too (none on a floor without TaskRouter).
        parts += [
            encode(None, "queue", orjson.dumps(q).decode()) for q in await ctx.queues.queues()
        ]
        parts += [
            encode(None, "agent", orjson.dumps(a).decode()) for a in await ctx.queues.agents()
        ]
    parts.append(encode(cursor, "sync", orjson.dumps({"live": live}).decode()))
    return cursor, b"".join(parts)


async def _needs_reset(ctx: Context, last_id: str) -> bool:
    first = await ctx.floor.feed_first_id()
    if first is None:
        # An empty feed that the client has seen entries of was flushed.
        return last_id != "0-0"
    return id_key(last_id) < id_key(first)


async def _events(
    ctx: Context,
    sub: Subscription,
    last_id: str | None,
    snapshot: bool,
    who: Principal,
    share: Share,
) -> AsyncIterator[bytes]:
    getter: asyncio.Future[Message | None] | None = None
    try:
        # A fresh client starts where its subscription starts.
        cursor = sub.start
        if last_id is not None and not await _needs_reset(ctx, last_id):
            cursor = last_id
            while True:
                entries = await ctx.floor.feed_after(cursor, CATCH_UP_BATCH)
                if entries:
                    messages = await ctx.hub.render_batch(entries)
                    country = ctx.settings.country
                    yield b"".join(wire(m, sub, country) for m in messages if sub.wants(m))
                    cursor = entries[-1].id
                if len(entries) < CATCH_UP_BATCH:
                    break
        elif last_id is not None or snapshot:
            cursor, payload = await _snapshot(ctx, sub)
            yield payload

        position = id_key(cursor)
        checked = time.monotonic()
        while not (sub.overflowed and sub.queue.empty()):
            if time.monotonic() - checked >= CHECK_SECONDS:
                # The key revoked, the session signed out, the token expired (on any process):
                # the stream ends with it (access/liveness.py).
                checked = time.monotonic()
                ended = await ctx.liveness.ended(who)
                if ended is not None:
                    yield encode(None, ended, "{}")
                    break
            # One getter waits across the checks: it is never cancelled with an item in hand
            # (a change lost here would be a gap no Last-Event-ID could see).
            getter = getter or asyncio.ensure_future(sub.queue.get())
            done, _ = await asyncio.wait({getter}, timeout=CHECK_SECONDS)
            if not done:
                continue
            first, getter = getter.result(), None
            batch = [first]
            # Whatever queued up meanwhile goes out in the same write.
            while len(batch) < SEND_BATCH and not sub.queue.empty():
                batch.append(sub.queue.get_nowait())
            chunk: list[bytes] = []
            closed = False
            for queued in batch:
                if queued is None:
                    closed = True
                    break
                if queued.id is not None:
                    key = id_key(queued.id)
                    if key <= position:
                        continue
                    position = key
                if sub.wants(queued):
                    chunk.append(wire(queued, sub, ctx.settings.country))
            if chunk:
                yield b"".join(chunk)
            if closed:
                break
    except RedisError:
        # The stream ends; the client reconnects with its Last-Event-ID and
        # resumes once Redis is back.
        return
    finally:
        if getter is not None:
            getter.cancel()
        ctx.hub.unsubscribe(sub)
        share.release()


async def events(request: Request) -> Response:
    principal = await authorize(request, STREAM, ticket_for="events")
    ctx: Context = request.app.state.ctx
    last_id = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    if last_id is not None:
        try:
            id_key(last_id)
        except ValueError:
            raise ApiError(
                400, "bad-last-event-id", f"Last-Event-ID {last_id[:40]!r} is not a feed id"
            ) from None
    if ctx.hub.subscribers >= ctx.settings.sse_max_clients:
        raise ApiError(
            503,
            "too-many-streams",
            f"this process already serves {ctx.settings.sse_max_clients} event streams",
            {"Retry-After": "5"},
        )
    snapshot = request.query_params.get("snapshot") in ("1", "true")
    # Transcript lines, `transcript.last` and phrase alerts' words only of the calls this
    # reader may listen to (a lead: their teams'; none for the service token or an agent).
    scope = words_scope(principal)
    share = ctx.shares.take(principal)
    try:
        if scope != NO_WORDS:
            await words.audit(ctx, principal, "GET /events", scope=scope)
        sub = await ctx.hub.subscribe(
            full_numbers=sees_full_numbers(principal, ctx.roster.full_number_roles),
            agent=principal.ident if principal.kind == AGENT else None,
            scope=scope,
        )
    except BaseException:
        share.release()
        raise
    return EventSourceResponse(
        _events(ctx, sub, last_id, snapshot, principal, share),
        ping=ctx.settings.sse_ping_seconds,
        send_timeout=ctx.settings.sse_send_timeout_seconds,
        headers=PRIVATE,
        background=BackgroundTask(share.arelease),
    )
