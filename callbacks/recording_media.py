"""A recording's audio for a browser's player: a one-time ticket, a playback grant, Range.

`GET /api/history/{sid}/recordings/{RE…}` answers a bearer credential (as every API
route), or, for a browser's `<audio>` element (which cannot send a header), a
one-time ticket of that recording and that person (`core/tickets.py`, scope
`recording:RE…`, issued by the dashboard for the signed-in supervisor who pressed
Play). A player fetches the audio more than once: to seek, it asks again for a
byte range. So redeeming the ticket also sets a *playback grant*: an HttpOnly,
SameSite=Strict cookie, valid for this recording's path only, for
`GRANT_SECONDS` at most and only while the dashboard session that asked lives
(Redis keeps its SHA-256, like a ticket). The player's further requests carry the
grant; the URL alone (its ticket used) opens nothing, for anyone else or later.
A playback is audited once, when its ticket is redeemed; its seeks are the same
playback and are not.

Range (RFC 9110 section 14): one range of bytes (`bytes=a-b`, `a-`, `-n`) is
answered 206 with Content-Range; several ranges are answered whole (a server may
ignore Range); a range past the end is 416. Twilio's documentation promises no
Range on its media (https://www.twilio.com/docs/voice/api/recording, "Fetch a
Recording media file"), so Earpiece asks for the whole file and sends on only the
bytes asked for (closing Twilio's answer once they are sent). Starlette serves it;
the range arithmetic is the few lines below (Starlette's FileResponse does it for
files on disk only, and nothing here is on disk).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from access.principal import Principal, resolve
from archive.media import MediaError, opened
from callbacks.auth import principal_of
from callbacks.context import Context
from callbacks.errors import PRIVATE, ApiError
from core import tickets
from live.numbers import plain_int

GRANT_COOKIE = "earpiece_playback"
GRANT_SECONDS = 2 * 3600  # a long call, listened to with pauses
GRANT_BYTES = 24
# ASCII digits ([0-9], not \d, which matches every script's) and at most 20 of them: a
# longer run is no file's offset, and int() refuses one past 4,300 digits (a 500).
RANGE = re.compile(r"bytes=([0-9]{0,20})-([0-9]{0,20})")


def scope(recording_sid: str) -> str:
    return tickets.recording_stream(recording_sid)


def _key(namespace: str, grant: str) -> str:
    return "{" + namespace + "}:playback:" + hashlib.sha256(grant.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Player:
    principal: Principal
    redeemed: bool  # a ticket was redeemed just now: a new playback (audited, and granted)


async def _granted(request: Request, ctx: Context, recording_sid: str) -> Principal | None:
    grant = request.cookies.get(GRANT_COOKIE)
    if not grant or len(grant) > 64:
        return None
    raw: Any = await ctx.redis.get(_key(ctx.settings.namespace, grant))
    if raw is None:
        return None
    data = orjson.loads(raw)
    if data.get("scope") != scope(recording_sid):
        return None
    session = data.get("session")
    if session is not None and not await ctx.redis.exists(session):
        return None  # signed out since: the playback ends with the session
    return resolve(ctx.roster, str(data["kind"]), data.get("ident"), "ticket", session)


async def player(request: Request, recording_sid: str) -> Player:
    """Who plays: a playback grant of this recording, else a bearer credential or a ticket of
    this recording (redeemed now, once); 401 otherwise."""
    ctx: Context = request.app.state.ctx
    granted = await _granted(request, ctx, recording_sid)
    if granted is not None:
        return Player(granted, False)
    principal = await principal_of(request, ticket_for=scope(recording_sid))
    return Player(principal, principal.via == "ticket")


async def new_grant(ctx: Context, principal: Principal, recording_sid: str) -> str:
    """A playback grant for the player whose ticket was just redeemed (and who was found to
    be allowed): what the player's seeks carry."""
    grant = secrets.token_urlsafe(GRANT_BYTES)
    value = orjson.dumps(
        {
            "kind": principal.kind,
            "ident": principal.ident,
            "session": principal.session,
            "scope": scope(recording_sid),
        }
    )
    await ctx.redis.set(_key(ctx.settings.namespace, grant), value, ex=GRANT_SECONDS)
    return grant


def byte_range(header: str | None, total: int | None) -> tuple[int, int] | None:
    """The one range asked for, inclusive, or None for the whole; ApiError 416 past the end."""
    if not header or total is None:
        return None
    found = RANGE.fullmatch(header.strip())
    if found is None:
        return None  # several ranges, or another unit: answered whole
    first, last = found.groups()
    if not first and not last:
        return None
    if not first:  # the last n bytes
        start, end = max(0, total - int(last)), total - 1
    else:
        start, end = int(first), min(int(last), total - 1) if last else total - 1
    if start >= total or start > end:
        raise ApiError(
            416,
            "range-not-satisfiable",
            f"the recording has {total} bytes",
            {"Content-Range": f"bytes */{total}"},
        )
    return start, end


async def serve(request: Request, ctx: Context, recording_sid: str, grant: str | None) -> Response:
    """The audio, whole or the range asked for, streamed from Twilio through Earpiece."""
    media = opened(ctx.settings, recording_sid)
    try:
        answer = await media.__aenter__()
    except MediaError as exc:
        raise ApiError(exc.status, "recording-unavailable", exc.message) from None
    length = answer.headers.get("content-length")
    total = plain_int(length) if length else None
    try:
        wanted = byte_range(request.headers.get("range"), total)
    except ApiError:
        await media.__aexit__(None, None, None)
        raise
    start, end = wanted if wanted is not None else (0, (total or 0) - 1)

    async def body() -> AsyncIterator[bytes]:
        at = 0
        try:
            async for chunk in answer.aiter_bytes():
                piece = chunk[max(0, start - at) : max(0, end + 1 - at)] if wanted else chunk
                at += len(chunk)
                if piece:
                    yield piece
                if wanted and at > end:
                    break  # the rest is not asked for: Twilio's answer is closed below
        finally:
            await media.__aexit__(None, None, None)

    headers = {
        **PRIVATE,
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'inline; filename="{recording_sid}.wav"',
    }
    if wanted is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{total}"
        headers["Content-Length"] = str(end - start + 1)
    elif total is not None:
        headers["Content-Length"] = str(total)
    response = StreamingResponse(
        body(), 206 if wanted else 200, headers=headers, media_type="audio/wav"
    )
    if grant is not None:
        secure = ctx.settings.base_url.startswith("https:") or request.url.scheme == "https"
        response.set_cookie(
            GRANT_COOKIE,
            grant,
            max_age=GRANT_SECONDS,
            path=request.url.path,
            secure=secure,
            httponly=True,
            samesite="strict",
        )
    return response
