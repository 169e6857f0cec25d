"""`GET /events/transcript?sid=CF…`: one call's transcript, live, for its page (issue 15).

The dashboard's call page opens it from the supervisor's browser with a one-time
ticket (like `/events/board`). Events:

- `snapshot`: `{"lines": [...], "transcript", "phrases"}`, the call's transcript so far;
- `transcript`: `{"sid", "line"}`, each new line, partial or final, as it arrives (a final
  replaces the partial of its speaker; `id` names a line);
- `state`: `{"transcript", "phrases"}`, when the call's transcription state (on, paused by
  whom, off) or its phrase alerts change;
- `signed-out`, `revoked` or `expired`, as on the board stream: the credential behind it
  ended (checked every couple of seconds), and so does the stream.

Only a supervisor who may listen to the call opens it (a lead: their own teams' calls;
403 otherwise), and each opening is audited (`words-read`).

An open stream counts as a watcher of the call: a team whose calls are transcribed
`monitored` has this call transcribed while its page is open (coach/transcription.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import orjson
from redis.exceptions import RedisError
from sse_starlette import EventSourceResponse
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from access.policy import READ_TRANSCRIPT
from access.principal import Principal
from callbacks import words
from callbacks.auth import authorize
from callbacks.board_stream import CORS, MAX_SID_CHARS, SESSION_CHECK_SECONDS, refuse_when_full
from callbacks.context import Context
from callbacks.errors import ApiError
from callbacks.shares import Share
from callbacks.stream import encode
from live.feed import Message, Subscription

# An open page tells the transcription controller it is there this often.
VIEWING_BEAT_SECONDS = 10.0


def _state(message: Message) -> bytes:
    conference = orjson.loads(message.data)
    body = {"transcript": conference.get("transcript"), "phrases": conference.get("phrases")}
    return encode(message.id, "state", orjson.dumps(body).decode())


async def _stream(
    ctx: Context, sub: Subscription, sid: str, who: Principal, share: Share
) -> AsyncIterator[bytes]:
    try:
        conference = await ctx.floor.conference(sid)
        lines = await ctx.transcripts.lines(sid)
        snapshot = {
            "lines": lines,
            "transcript": (conference or {}).get("transcript"),
            "phrases": (conference or {}).get("phrases") or [],
        }
        yield encode(None, "snapshot", orjson.dumps(snapshot).decode())
        await ctx.transcription.viewing(sid)
        beat = checked = time.monotonic()
        while not (sub.overflowed and sub.queue.empty()):
            with contextlib.suppress(TimeoutError):
                first = await asyncio.wait_for(sub.queue.get(), SESSION_CHECK_SECONDS)
                batch = [first]
                while not sub.queue.empty():
                    batch.append(sub.queue.get_nowait())
                chunk = []
                for message in batch:
                    if message is None:
                        return
                    if message.event == "transcript":
                        chunk.append(encode(message.id, "transcript", message.data))
                    elif message.event == "conference":
                        chunk.append(_state(message))
                if chunk:
                    yield b"".join(chunk)
            now = time.monotonic()
            if now - beat >= VIEWING_BEAT_SECONDS:
                beat = now
                await ctx.transcription.viewing(sid)
            if now - checked >= SESSION_CHECK_SECONDS:
                checked = now
                ended = await ctx.liveness.ended(who)
                if ended is not None:  # revoked, signed out or expired: the words stop
                    yield encode(None, ended, "{}")
                    return
    except RedisError:
        return  # the browser reconnects (with a new ticket) once Redis answers
    finally:
        ctx.hub.unsubscribe(sub)
        share.release()


async def transcript_events(request: Request) -> Response:
    who = await authorize(request, READ_TRANSCRIPT, ticket_for="transcript")
    ctx: Context = request.app.state.ctx
    sid = request.query_params.get("sid") or ""
    if not (sid.isalnum() and len(sid) <= MAX_SID_CHARS):
        raise ApiError(422, "bad-sid", "sid must be a conference SID")
    # Whoever may not listen to the call gets neither its words nor a paid transcription
    # started by opening this (a `monitored` team's call is transcribed while watched).
    conference = await words.hearable(ctx, who, sid)
    refuse_when_full(ctx)
    share = ctx.shares.take(who)
    try:
        await words.audit(ctx, who, "GET /events/transcript", conference)
        sub = await ctx.hub.subscribe(watch=sid)
    except BaseException:
        share.release()
        raise
    return EventSourceResponse(
        _stream(ctx, sub, sid, who, share),
        ping=ctx.settings.sse_ping_seconds,
        send_timeout=ctx.settings.sse_send_timeout_seconds,
        headers=CORS,
        background=BackgroundTask(share.arelease),
    )
