"""Hearing a live call in the browser (issue 26): a listen ticket, and the browser's WebSocket.

- `POST /api/conferences/{sid}/listen` (a supervisor's bearer credential): a one-time
  ticket for that call and that person (core/tickets.py, `call` set), checked as
  joining listen-only is (access/policy.py `hear_refusal`: role and team). Answers 201
  `{"ticket", "expires_at", "sid", "url"}`; 403 with the reason for a lead of another
  team; 409 `media-streams-unavailable` where the account's region has no Media Streams.
- `GET /listen/audio?sid=CF…&ticket=…` (WebSocket): the call's audio. The ticket is
  redeemed once, must name this call, and the principal is checked again. Then the
  socket sends binary messages of one or more frames, each one byte of track (1 customer,
  2 agent), two of length (big-endian) and the μ-law (160 bytes: 20 ms at 8 kHz), and
  JSON text messages: `{"type":"hello","sid","listeners"}`,
  `{"type":"listeners","listeners"}` when who hears the call in a browser changes,
  and a last `{"type":"ended"|"refused"|"signed-out","reason"}` before it closes.

A refusal after the upgrade is a `refused` message with the reason and close code 4403
(a browser cannot read the status of a refused upgrade, and the page must say why).
Every few seconds the loop checks again that the credential stands (the dashboard
session exists, the API key is not revoked, the roster still lets them hear this call)
and that the call is live: sign-out, revocation and the call's end end the audio.
Opening is audited `listen` (mode listen, detail `how=browser`), closing `listen-end`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import replace

import orjson
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from access.policy import HEAR_CALL, hear_refusal
from access.principal import Principal, resolve
from callbacks.audio_relay import ENDED, AudioRelay, frames
from callbacks.auth import authorize
from callbacks.board_stream import MAX_SID_CHARS
from callbacks.context import Context
from callbacks.errors import ApiError, JSONResponse
from coach.media import MediaStreams
from core import tickets
from core.tickets import Holder
from core.twilio_errors import CoachError

log = logging.getLogger("earpiece.listen")

PATH = "/listen/audio"
CHECK_SECONDS = 2.0  # the credential, the call and the listeners are checked this often
BEAT_SECONDS = 5.0  # the ear is renewed this often (coach/media.py EAR_SECONDS)


def _sid_ok(sid: str) -> bool:
    return sid.isalnum() and sid.startswith("CF") and len(sid) <= MAX_SID_CHARS


async def _team_of(ctx: Context, sid: str) -> tuple[bool, str | None]:
    conference = await ctx.floor.conference(sid)
    if conference is None or conference.get("state") == "ended":
        return False, None
    return True, conference.get("team")


async def issue(request: Request) -> JSONResponse:
    """`POST /api/conferences/{sid}/listen`: a ticket to hear this call in the browser."""
    principal = await authorize(request, HEAR_CALL)
    ctx: Context = request.app.state.ctx
    media: MediaStreams = request.app.state.media
    sid = request.path_params["sid"]
    if not _sid_ok(sid):
        raise ApiError(422, "bad-sid", "sid must be a conference SID")
    live, team = await _team_of(ctx, sid)
    if not live:
        raise ApiError(404, "unknown-conference", f"no live call {sid}")
    reason = hear_refusal(principal, ctx.roster, team)
    if reason is not None:
        raise ApiError(403, "not-allowed", reason)
    if not media.available:
        raise ApiError(
            409,
            "media-streams-unavailable",
            "Twilio offers Media Streams only in US1, IE1 and AU1: Listen rings your phone instead",
        )
    holder = Holder(
        principal.kind,
        principal.ident,
        principal.session,
        principal.key_id,
        stream="listen",
        until=principal.until,
        call=sid,
    )
    try:
        ticket = await tickets.issue(
            ctx.redis, ctx.settings.namespace, holder, ctx.settings.tickets_per_minute
        )
    except tickets.TooManyTickets as exc:
        raise ApiError(429, "too-many-tickets", str(exc), {"Retry-After": "60"}) from None
    body = {**ticket.json(), "sid": sid, "url": f"{PATH}?sid={sid}&ticket={ticket.ticket}"}
    return JSONResponse(body, 201)


# Why the audio ended, as the player says it (access/liveness.py's reasons).
WHY_ENDED = {
    "revoked": "your key was revoked",
    "signed-out": "you signed out",
    "expired": "your sign-in expired",
}


async def _still_allowed(ctx: Context, holder: Holder, sid: str) -> tuple[str, str] | None:
    """(type, reason) when the audio must end now, else None."""
    principal = resolve(ctx.roster, holder.kind, holder.ident, "ticket", holder.session)
    if principal is not None:
        # Signed out, the key revoked, the token expired: the same check as every stream's
        # (access/liveness.py), on this process or any other.
        ended = await ctx.liveness.ended(
            replace(principal, key_id=holder.key_id, until=holder.until)
        )
        if ended is not None:
            return "signed-out", WHY_ENDED.get(ended, ended)
    live, team = await _team_of(ctx, sid)
    if not live:
        return "ended", "the call ended"
    if principal is None:
        return "refused", f"{holder.ident} is no longer on the roster"
    reason = hear_refusal(principal, ctx.roster, team)
    return ("refused", reason) if reason else None


async def _refuse(ws: WebSocket, kind: str, reason: str) -> None:
    if ws.client_state == WebSocketState.CONNECTING:
        await ws.accept()
    with contextlib.suppress(Exception):
        await ws.send_text(orjson.dumps({"type": kind, "reason": reason}).decode())
        await ws.close(code=4403 if kind == "refused" else 4000)


async def listen_socket(ws: WebSocket) -> None:
    ctx: Context = ws.app.state.ctx
    relay: AudioRelay = ws.app.state.relay
    media: MediaStreams = ws.app.state.media
    sid = ws.query_params.get("sid") or ""
    ticket = ws.query_params.get("ticket") or ""
    if not _sid_ok(sid):
        await _refuse(ws, "refused", "sid must be a conference SID")
        return
    try:
        holder = await tickets.redeem(ctx.redis, ctx.settings.namespace, ticket)
    except RedisError:
        await _refuse(ws, "refused", "the floor is out of reach: try again")
        return
    if holder is None:
        await _refuse(ws, "refused", "the ticket is unknown, used or expired: ask for a new one")
        return
    if holder.stream != "listen" or holder.call != sid:
        await _refuse(ws, "refused", "this ticket is not for this call")
        return
    principal: Principal | None = resolve(
        ctx.roster, holder.kind, holder.ident, "ticket", holder.session
    )
    if principal is None:
        await _refuse(ws, "refused", "you are no longer on the roster")
        return
    ending = await _still_allowed(ctx, holder, sid)
    if ending is not None:
        await _refuse(ws, *ending)
        return
    await ws.accept()
    who = principal.ident or "?"
    ear_name = f"{who}/{secrets.token_hex(6)}"
    ear = await relay.subscribe(sid)
    try:
        await media.hear(sid, ear_name)
        try:
            await media.ensure(sid)
        except CoachError as exc:
            await _refuse(ws, "refused", exc.message)
            return
        await media.audit_listen("listen", who, sid, "how=browser")
        await _serve(ws, ctx, media, holder, sid, ear_name, ear.queue)
    except (WebSocketDisconnect, RuntimeError):
        pass
    except RedisError as exc:
        log.info("listening to %s: Redis is away: %s", sid, exc)
        with contextlib.suppress(Exception):
            await ws.close(code=1011)
    finally:
        await relay.unsubscribe(ear)
        with contextlib.suppress(RedisError):
            await media.gone(sid, ear_name)
            await media.audit_listen("listen-end", who, sid, "how=browser")


async def _serve(
    ws: WebSocket,
    ctx: Context,
    media: MediaStreams,
    holder: Holder,
    sid: str,
    ear_name: str,
    queue: asyncio.Queue[bytes],
) -> None:
    listeners = await media.ears(sid)
    await ws.send_text(orjson.dumps({"type": "hello", "sid": sid, "listeners": listeners}).decode())
    closed = asyncio.Event()

    async def watch_close() -> None:
        # The browser sends nothing we need; reading tells us when it goes.
        with contextlib.suppress(Exception):
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
        closed.set()

    watcher = asyncio.create_task(watch_close())
    checked = beat = time.monotonic()
    try:
        while not closed.is_set():
            with contextlib.suppress(TimeoutError):
                # What the queue holds goes out as one message (a task per frame for a
                # timeout would cost more than the frame).
                first = (
                    queue.get_nowait()
                    if not queue.empty()
                    else (await asyncio.wait_for(queue.get(), 0.5))
                )
                message = first + b"".join(queue.get_nowait() for _ in range(queue.qsize()))
                ended = [p.decode(errors="replace") for k, p in frames(message) if k == ENDED]
                if ended:
                    # Twilio's stream ended: the call ended (checked below), or the stream
                    # was stopped while we still listen (started again).
                    live, _ = await _team_of(ctx, sid)
                    if not live:
                        await _refuse(ws, "ended", "the call ended")
                        return
                    # A call ending reaches Twilio's socket before its callback reaches the
                    # floor: the next check ends the audio then, and a refusal here is none.
                    with contextlib.suppress(CoachError):
                        await media.restart(sid, ended[-1])
                elif message:
                    await ws.send_bytes(message)
            now = time.monotonic()
            if now - beat >= BEAT_SECONDS:
                beat = now
                await media.hear(sid, ear_name)
            if now - checked >= CHECK_SECONDS:
                checked = now
                ending = await _still_allowed(ctx, holder, sid)
                if ending is not None:
                    await _refuse(ws, *ending)
                    return
                now_listening = await media.ears(sid)
                if now_listening != listeners:
                    listeners = now_listening
                    await ws.send_text(
                        orjson.dumps({"type": "listeners", "listeners": listeners}).decode()
                    )
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watcher
