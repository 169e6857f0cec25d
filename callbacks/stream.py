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
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from redis.exceptions import RedisError
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import Response

from callbacks.auth import require_token
from callbacks.context import Context
from callbacks.errors import ApiError
from live.feed import Subscription, id_key, render

CATCH_UP_BATCH = 500


def _sse(message_id: str | None, event: str, data: str) -> ServerSentEvent:
    return ServerSentEvent(data=data, event=event, id=message_id)


async def _snapshot(ctx: Context) -> tuple[str, list[ServerSentEvent]]:
    # The cursor is read before the listing: a change that lands in between
    # is both in the listing and replayed after it, never lost (each event
    # carries the whole conference, so a repeat is harmless).
    cursor = await ctx.floor.feed_last_id()
    conferences = await ctx.floor.conferences()
    events = [_sse(None, "reset", "{}")]
    events += [_sse(None, "conference", orjson.dumps(c).decode()) for c in conferences]
    events.append(_sse(cursor, "sync", orjson.dumps({"live": len(conferences)}).decode()))
    return cursor, events


async def _needs_reset(ctx: Context, last_id: str) -> bool:
    first = await ctx.floor.feed_first_id()
    if first is None:
        # An empty feed that the client has seen entries of was flushed.
        return last_id != "0-0"
    return id_key(last_id) < id_key(first)


async def _events(
    ctx: Context, sub: Subscription, last_id: str | None, snapshot: bool
) -> AsyncIterator[ServerSentEvent]:
    try:
        # A fresh client starts where its subscription starts.
        cursor = sub.start
        if last_id is not None and not await _needs_reset(ctx, last_id):
            cursor = last_id
            while True:
                entries = await ctx.floor.feed_after(cursor, CATCH_UP_BATCH)
                for entry in entries:
                    message = render(ctx.floor, entry)
                    yield _sse(message.id, message.event, message.data)
                    cursor = entry.id
                if len(entries) < CATCH_UP_BATCH:
                    break
        elif last_id is not None or snapshot:
            cursor, events = await _snapshot(ctx)
            for event in events:
                yield event

        position = id_key(cursor)
        while not (sub.overflowed and sub.queue.empty()):
            queued = await sub.queue.get()
            if queued is None:
                break
            if queued.id is not None and id_key(queued.id) <= position:
                continue
            yield _sse(queued.id, queued.event, queued.data)
            if queued.id is not None:
                position = id_key(queued.id)
    except RedisError:
        # The stream ends; the client reconnects with its Last-Event-ID and
        # resumes once Redis is back.
        return
    finally:
        ctx.hub.unsubscribe(sub)


async def events(request: Request) -> Response:
    require_token(request, allow_query=True)
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
    sub = await ctx.hub.subscribe()
    return EventSourceResponse(
        _events(ctx, sub, last_id, snapshot),
        ping=ctx.settings.sse_ping_seconds,
        send_timeout=ctx.settings.sse_send_timeout_seconds,
        headers={"Cache-Control": "no-store"},
    )
