"""QA after the call over HTTP (issue 16): recordings in, the archive out.

POST /twilio/recording-events                     Twilio's recording status callbacks (signed)
GET  /api/history?from=&to=&team=&queue=&agent=&q=&alert=&monitored=&reviewed=
                 &min_seconds=&max_seconds=&cursor=&limit=
GET  /api/history/{conference_sid}                one ended call, whole, with its reviews
GET  /api/history/{conference_sid}/recordings/{sid}   its audio, streamed through Earpiece
                 (a bearer credential, or ?ticket= of that recording for a browser's player;
                 Range: callbacks/recording_media.py)
POST /api/history/{conference_sid}/reviews        {"score", "notes", "criteria"}
GET  /api/reviews?agent=&team=&reviewer=          and /api/reviews.csv

People only (never the shared service token); a lead sees their own teams' calls, a
manager and QA every team's. Every playback and export goes to the audit, and so does every
read of words: an ended call whose transcript is read, and a search of what was said (`q`,
audited as a read of the words of the teams it searched, never with the words searched
for, which may be a card number).
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from access.modes import refusal
from access.policy import READ_HISTORY, own_teams, sees_full_numbers
from access.principal import Principal
from archive.review_export import reviews_csv
from archive.store import Json, Review, ReviewSearch, Search
from callbacks import recording_media, words
from callbacks.auth import authorize, permitted
from callbacks.context import Context
from callbacks.errors import PRIVATE, ApiError, JSONResponse
from callbacks.monitors import json_object
from callbacks.webhooks import SignedRequest, SignedWebhook
from core.floor_clock import FloorClock
from live.attention import CALL_ALERTS
from live.board import mask_number
from live.events import BadEvent, is_sid
from live.numbers import plain_int, whole
from live.recordings import STATUSES

RECORDING_STATUSES = frozenset(STATUSES)
MAX_NOTES_CHARS = 2000
MAX_RECORDING_SECONDS = 24 * 3600
MAX_SOURCE_CHARS = 40  # RecordingSource: a word such as StartCallRecordingAPI


# -- Twilio's recording status callbacks ------------------------------------------------


async def recording_event(request: SignedRequest) -> str:
    p = request.params
    rid, call_sid = p.get("RecordingSid", ""), p.get("CallSid", "")
    status = p.get("RecordingStatus")
    if not is_sid(rid, "RE"):
        raise ApiError(400, "bad-callback", f"RecordingSid is not a recording SID: {rid[:40]!r}")
    if call_sid and not is_sid(call_sid, "CA"):
        raise ApiError(400, "bad-callback", f"CallSid is not a call SID: {call_sid[:40]!r}")
    if status not in RECORDING_STATUSES:
        raise ApiError(
            400, "bad-callback", f"RecordingStatus {str(status)[:40]!r} is not one Twilio sends"
        )
    try:
        # -1: what Twilio sends before the recording completes (no duration yet). A
        # recording lasts no longer than its call, and Twilio ends a call past its maximum
        # duration (https://www.twilio.com/docs/api/errors/86006): a day is generous.
        duration = whole(p, "RecordingDuration", -1, MAX_RECORDING_SECONDS)
        # "Can be: `1`, or `2`" (Twilio's api v2010 OpenAPI, call_recording `channels`).
        channels = whole(p, "RecordingChannels", 1, 2)
    except BadEvent as exc:
        raise ApiError(400, "bad-callback", str(exc)) from None
    ctx = request.context
    recording = ctx.recording
    sid = await recording.conference_of(rid)
    if sid is None and call_sid:
        found = await ctx.floor.call(call_sid)
        sid = found["conference_sid"] if found else None
    if sid is None:
        return "unknown"
    # Forward only, and into the archive record when the call was archived already
    # (live/recordings.py): applied | archived | stale | unchanged.
    return await recording.note(
        sid,
        {
            "sid": rid,
            "call_sid": call_sid or None,
            "status": status,
            "duration": duration if duration is not None and duration >= 0 else None,
            "channels": str(channels) if channels is not None else None,
            "source": (p.get("RecordingSource") or "")[:MAX_SOURCE_CHARS] or None,
        },
    )


events = SignedWebhook(recording_event)


# -- reading the archive ------------------------------------------------------------------


def visible_teams(principal: Principal) -> tuple[str, ...] | None:
    """None: every team (managers, QA); a lead: their own teams (access.policy.own_teams)."""
    return own_teams(principal.role, principal.teams)


def _ms(raw: str | None, name: str, floor: FloorClock, end: bool = False) -> int | None:
    """A `from`/`to` filter: one without an offset is the floor's time (EARPIECE_TIMEZONE),
    and a bare `to` date takes the whole of that day on the floor."""
    if not raw:
        return None
    try:
        return floor.read_ms(raw, end=end)
    except OverflowError:
        # A valid date at the calendar's edge (9999-12-31, whose end is the next day): not a
        # malformed one, so not said to be one.
        raise ApiError(
            422, "bad-filter", f"{name} is outside the dates the archive can search"
        ) from None
    except ValueError:
        raise ApiError(422, "bad-filter", f"{name} must be an ISO 8601 date or time") from None


def _int(raw: str | None, name: str, low: int = 0, high: int = 10**9) -> int | None:
    if raw is None or raw == "":
        return None
    value = plain_int(raw)
    if value is None or not low <= value <= high:
        raise ApiError(422, "bad-filter", f"{name} must be a whole number from {low} to {high}")
    return value


def _cursor(raw: str | None) -> int | None:
    """A page's `next`, given back: opaque to the caller, so a wrong one is refused as not
    ours rather than as a number out of a range nobody was told."""
    try:
        return _int(raw, "cursor", 1, 2**62)
    except ApiError:
        raise ApiError(
            422, "bad-filter", "cursor is not one this API gave: pass the `next` of the page before"
        ) from None


def _bool(raw: str | None, name: str) -> bool | None:
    if raw is None or raw == "":
        return None
    if raw not in ("true", "false"):
        raise ApiError(422, "bad-filter", f"{name} must be true or false")
    return raw == "true"


def _q(raw: str | None) -> str | None:
    """What was said, searched for: text. Starlette decodes a query's bytes that are not
    UTF-8 as U+FFFD, which the search would fold away, finding every call."""
    if "\ufffd" in (raw or ""):
        raise ApiError(422, "bad-filter", "q must be UTF-8 text")
    if raw and not any(c.isalnum() for c in raw):
        # Punctuation, an emoji or a zero-width space alone folds to nothing to look for,
        # which the search would take as no filter: every call, audited as a word search.
        raise ApiError(422, "bad-filter", "q must hold a word or a number to look for")
    return (raw or "")[:200] or None


def _alert(raw: str | None) -> str | None:
    """One of the alerts a call can raise: an unknown one is a mistake, not an empty page."""
    if not raw:
        return None
    if raw not in CALL_ALERTS:
        known = ", ".join(CALL_ALERTS)
        raise ApiError(422, "bad-filter", f"alert must be one of {known}")
    return raw


def search_of(query: Any, principal: Principal, floor: FloorClock | None = None) -> Search:
    floor = floor or FloorClock()
    teams = visible_teams(principal)
    team = query.get("team") or None
    if team is not None and teams is not None and team not in teams:
        raise ApiError(403, "forbidden", f"{principal.ident} leads {', '.join(teams) or 'no team'}")
    since_ms = _ms(query.get("from"), "from", floor)
    until_ms = _ms(query.get("to"), "to", floor, end=True)
    if since_ms is not None and until_ms is not None and since_ms >= until_ms:
        # (an empty page would read as "no call then": a QA trial's dates the wrong way round)
        raise ApiError(422, "bad-filter", "from is after to")
    return Search(
        since_ms=since_ms,
        until_ms=until_ms,
        team=team,
        queue=query.get("queue") or None,
        agent=query.get("agent") or None,
        q=_q(query.get("q")),
        alert=_alert(query.get("alert")),
        monitored=_bool(query.get("monitored"), "monitored"),
        reviewed=_bool(query.get("reviewed"), "reviewed"),
        min_seconds=_int(query.get("min_seconds"), "min_seconds"),
        max_seconds=_int(query.get("max_seconds"), "max_seconds"),
        teams=teams,
        cursor=_cursor(query.get("cursor")),
        limit=_int(query.get("limit"), "limit", 1, 200) or 50,
    )


def masked(call: Json, full: bool, country: str | None = None) -> Json:
    """The same masking rules as the floor: customers' numbers for readers without them."""
    if full:
        return call
    out = dict(call)
    out["customer"] = mask_number(call.get("customer"), True, country) or None
    if "participants" in call:
        out["participants"] = [
            {**p, "number": mask_number(p.get("number"), True, country) or None}
            for p in call["participants"]
        ]
    return out


async def history(request: Request) -> Response:
    principal = await authorize(request, READ_HISTORY)
    ctx: Context = request.app.state.ctx
    search = search_of(request.query_params, principal, FloorClock(ctx.settings.timezone))
    if search.q is not None:
        # Which calls said something is their words read: audited before it is answered.
        teams = None if search.teams is None else frozenset(search.teams)
        await words.audit(ctx, principal, "GET /api/history?q=", scope=teams)
    calls, cursor = await ctx.store.search(search)
    full = sees_full_numbers(principal, ctx.roster.full_number_roles)
    for call in calls:
        call.pop("_row", None)
    return JSONResponse(
        {
            "calls": [masked(c, full, ctx.settings.country) for c in calls],
            "next": str(cursor) if cursor is not None else None,
        }
    )


async def _call(request: Request, principal: Principal) -> Json:
    ctx: Context = request.app.state.ctx
    sid = request.path_params["sid"]
    call = await ctx.store.get(sid)
    teams = visible_teams(principal)
    if call is None or (teams is not None and call.get("team") not in teams):
        # A lead asking for another team's call learns nothing of it, not even that it was.
        raise ApiError(404, "unknown-call", f"no ended call {sid} in the archive")
    return call


async def one_call(request: Request) -> Response:
    principal = await authorize(request, READ_HISTORY)
    ctx: Context = request.app.state.ctx
    call = await _call(request, principal)
    if call.get("transcript"):
        await words.audit(ctx, principal, "GET /api/history/{sid}", conference=call)
    call["reviews"] = await ctx.store.reviews(ReviewSearch(sid=call["sid"]))
    full = sees_full_numbers(principal, ctx.roster.full_number_roles)
    return JSONResponse(masked(call, full, ctx.settings.country))


async def audio(request: Request) -> Response:
    """A recording's audio: for a bearer credential, or a browser's player with a one-time
    ticket of this recording (then a playback grant; Range): callbacks/recording_media.py."""
    ctx: Context = request.app.state.ctx
    rid = request.path_params["recording"]
    playing = await recording_media.player(request, rid)
    principal = permitted(playing.principal, READ_HISTORY)
    call = await _call(request, principal)
    if rid not in {r.get("sid") for r in call.get("recordings") or ()}:
        raise ApiError(404, "unknown-recording", f"call {call['sid']} has no recording {rid[:40]}")
    grant = None
    if playing.redeemed:
        grant = await recording_media.new_grant(ctx, principal, rid)
    if playing.principal.via != "ticket" or playing.redeemed:
        # Once a playback: a player's seeks (with its grant) are the same playback.
        await ctx.coach.audit.record(
            "playback",
            principal.ident or "",
            call["sid"],
            agent=call.get("agent") or "",
            detail=rid,
        )
    return await recording_media.serve(request, ctx, rid, grant)


# -- reviews --------------------------------------------------------------------------------


def _score(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ApiError(422, "bad-body", "score must be a number from 0 to 100")
    if not 0 <= value <= 100:
        raise ApiError(422, "bad-body", "score must be a number from 0 to 100")
    return float(value) + 0.0  # (-0.0 is 0: a trial's review read "score -0")


async def add_review(request: Request) -> Response:
    principal = await authorize(request, READ_HISTORY)
    ctx: Context = request.app.state.ctx
    call = await _call(request, principal)
    who = ctx.roster.supervisors.get(principal.ident or "")
    if who is None:
        raise ApiError(403, "forbidden", "only a supervisor of the roster reviews calls")
    reason = refusal(who, "listen", call.get("team"))
    if reason is not None:
        raise ApiError(403, "forbidden", reason)
    body = await json_object(request)
    notes = body.get("notes", "")
    if not isinstance(notes, str) or len(notes) > MAX_NOTES_CHARS:
        raise ApiError(422, "bad-body", f"notes: text of {MAX_NOTES_CHARS} characters at most")
    criteria = body.get("criteria", {})
    team = ctx.roster.teams.get(call.get("team") or "")
    allowed = set(team.review) if team else set()
    if (
        not isinstance(criteria, dict)
        or set(criteria) - allowed
        or not all(v is None or isinstance(v, bool) for v in criteria.values())
    ):
        names = ", ".join(sorted(allowed)) or "none"
        raise ApiError(
            422,
            "bad-body",
            "criteria must map this team's criteria to true (pass), "
            f"false (fail) or null (N/A) ({names})",
        )
    review = Review(
        sid=call["sid"],
        reviewer=who.id,
        score=_score(body.get("score")),
        notes=notes,
        criteria=criteria,
        agent=call.get("agent"),
        team=call.get("team"),
    )
    made = await ctx.store.add_review(review)
    await ctx.coach.audit.record(
        "review",
        who.id,
        call["sid"],
        agent=call.get("agent") or "",
        detail=f"score {review.score:g}",
    )
    return JSONResponse(made, 201)


def review_search(request: Request, principal: Principal) -> ReviewSearch:
    query = request.query_params
    return ReviewSearch(
        agent=query.get("agent") or None,
        team=query.get("team") or None,
        reviewer=query.get("reviewer") or None,
        teams=visible_teams(principal),
        limit=_int(query.get("limit"), "limit", 1, 10_000) or 500,
    )


async def reviews(request: Request) -> Response:
    principal = await authorize(request, READ_HISTORY)
    ctx: Context = request.app.state.ctx
    return JSONResponse({"reviews": await ctx.store.reviews(review_search(request, principal))})


async def reviews_export(request: Request) -> Response:
    principal = await authorize(request, READ_HISTORY)
    ctx: Context = request.app.state.ctx
    search = review_search(request, principal)
    rows = await ctx.store.reviews(search)
    await ctx.coach.audit.record(
        "export", principal.ident or "", "", detail=f"reviews.csv, {len(rows)} reviews"
    )
    # Every criterion of the teams exported, in the roster's order (one team asked for, the
    # reader's teams, or all).
    teams = [
        team
        for name, team in ctx.roster.teams.items()
        if (search.team is None or name == search.team)
        and (search.teams is None or name in search.teams)
    ]
    criteria = [c for team in teams for c in team.review]
    return Response(
        reviews_csv(rows, ctx.settings.timezone, criteria),
        media_type="text/csv; charset=utf-8",
        headers={**PRIVATE, "Content-Disposition": 'attachment; filename="earpiece-reviews.csv"'},
    )
