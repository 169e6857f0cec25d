"""`GET /events/board`: the live board of one set of filters, as Server-Sent Events.

This is what the dashboard's floor table and tiles draw from (a browser
component subscribes to it directly), so a watcher costs this process a
subscriber's share of bytes that `live/board_hub.py` encodes once per change
for everyone who watches the same view. Events:

- `status`: `{"ok": true}`, or `{"ok": false, "message"}` while Redis does not answer;
- `board`: the view: `{"v", "base", "matched", "order", "rows", "live", "kpis", "help", "at"}`.
  With `base` null it is the whole view; otherwise `rows` holds only the rows
  new or changed since version `base`, which the watcher has;
- `unchanged`: `{"v", "at"}` on a pass that left the view as it was: version `v`, which the
  watcher has, is the view as of `at` (epoch ms). Passes come at least once a second (once
  a refresh period where that is longer) while the floor is in reach, so a watcher hears
  from its view that often, quiet or not, and a page can tell a quiet view from a stream
  that stalled;
- `me`: the watching supervisor's own leg (`{"sid", "mode", "status"}` or null), when it changes;
- `call`: with `?watch=CF…`, `{"sid", "v"}` whenever that call changes (`v` null once it
  ended): what the dashboard's call page waits on instead of redrawing on a timer
  (`board=off` for no `board` events);
- `signed-out`, `revoked`, `expired`: the credential behind the stream ended (checked
  every couple of seconds, on every process: access/liveness.py); the stream ends with it;
- `queues`: with `?queues=1`, every TaskQueue and agent (`{"queues": [Queue], "agents":
  [Agent], "at"}`), worked out once a pass for every wallboard, when they changed.

A browser's EventSource cannot send a header, so it comes with a one-time
ticket (`?ticket=`); a server-side client may send its bearer token. The
stream is opened cross-origin by the dashboard's page: it answers any origin,
since the ticket, not a cookie, is what lets it in. A ticket opens this stream only if
it was made for it (`POST /api/events/ticket?stream=board`).

Words (issue 22): a row's "Last said" and a phrase alert's phrase, in the row's "why" and
in the `help` cues, reach only a watcher who may listen to that call (live/words.py);
the service token's wallboards get none. A watcher who gets words is audited once,
when the stream opens (callbacks/words.py). Each person holds at most
EARPIECE_STREAMS_PER_PERSON streams and EARPIECE_BOARD_VIEWS_PER_PERSON distinct views
in a process (callbacks/shares.py): 429 beyond.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import orjson
from sse_starlette import EventSourceResponse
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from access.policy import NO_WORDS, READ_FLOOR, words_scope
from access.principal import Principal
from callbacks import words
from callbacks.auth import authorize
from callbacks.context import Context
from callbacks.errors import PRIVATE, ApiError
from callbacks.shares import Share
from callbacks.stream import encode
from live.board import BadFilters, Filters
from live.board_hub import TooManyViews, View

FILTER_NAMES = ("team", "queue", "state", "agent", "order", "limit")
CORS = {"Access-Control-Allow-Origin": "*", **PRIVATE}
_UNSENT = object()
MAX_SID_CHARS = 64
# How often a stream opened from a dashboard session checks that the session still exists.
SESSION_CHECK_SECONDS = 2.0
# The view of a watcher that wants no table: no rows, one view shared by all of them.
CALL_ONLY = Filters(limit=0)


async def _stream(
    ctx: Context,
    view: View,
    who: Principal,
    watch: str | None,
    share: Share,
    queues: bool = False,
) -> AsyncIterator[bytes]:
    board = ctx.board
    if queues:
        board.queue_watchers += 1
    try:
        queues_sent = 0
        sent: int | None = None
        told = 0  # the pass the watcher last heard of (a board, or that its view held)
        status: object = _UNSENT
        mine: object = _UNSENT
        call: object = _UNSENT
        seen = -1
        checked = time.monotonic()
        while True:
            seen = await board.next_pass(seen, SESSION_CHECK_SECONDS)
            if time.monotonic() - checked > SESSION_CHECK_SECONDS:
                # Signed out (here or in another browser), the key revoked, the token expired
                # (on this process or any other: access/liveness.py): the stream ends, and the
                # page's component asks for a new ticket, which it cannot get now.
                checked = time.monotonic()
                ended = await ctx.liveness.ended(who)
                if ended is not None:
                    yield encode(None, ended, "{}")
                    return
            parts = []
            if board.error != status:
                status = board.error
                body = {"ok": True} if status is None else {"ok": False, "message": status}
                parts.append(encode(None, "status", orjson.dumps(body).decode()))
            if view.filters != CALL_ONLY and view.version and view.version != sent:
                parts.append(view.event(sent))
                sent, told = view.version, board.passed_ms
            elif sent is not None and board.error is None and board.passed_ms != told:
                # A pass that left the view as it was: the watcher hears that it holds as of
                # then, so it is told something on every pass.
                parts.append(view.unchanged(board.passed_ms))
                told = board.passed_ms
            if who.ident is not None and board.mine.get(who.ident) != mine:
                mine = board.mine.get(who.ident)
                parts.append(encode(None, "me", orjson.dumps(mine).decode()))
            version = board.call_version(watch) if watch is not None and board.ready else call
            if version != call:
                call = version
                parts.append(encode(None, "call", orjson.dumps({"sid": watch, "v": call}).decode()))
            if queues and board.queue_version != queues_sent and board.queue_message:
                queues_sent = board.queue_version
                parts.append(b"event: queues\r\ndata: " + board.queue_message + b"\r\n\r\n")
            if parts:
                yield b"".join(parts)
    finally:
        board.unwatch(view)
        share.release()
        if queues:
            board.queue_watchers -= 1


def refuse_when_full(ctx: Context) -> None:
    """503 with Retry-After when this process already serves as many streams as it may."""
    if ctx.hub.subscribers + ctx.board.watchers >= ctx.settings.sse_max_clients:
        raise ApiError(
            503,
            "too-many-streams",
            f"this process already serves {ctx.settings.sse_max_clients} event streams",
            {"Retry-After": "5"},
        )


async def board_events(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    who = await authorize(request, READ_FLOOR, ticket_for="board")
    query = request.query_params
    try:
        filters = Filters.from_query({name: query.getlist(name) for name in FILTER_NAMES})
    except BadFilters as exc:
        raise ApiError(422, "bad-filters", str(exc)) from None
    watch = query.get("watch")
    if watch is not None and not (watch.isalnum() and len(watch) <= MAX_SID_CHARS):
        raise ApiError(422, "bad-watch", "watch must be a conference SID")
    refuse_when_full(ctx)
    if query.get("board") == "off":
        filters = CALL_ONLY  # a page that follows one call needs no table
    # The rows carry "Last said" and the phrase alerts' words only for the calls this
    # watcher may listen to (none for the service token): views are shared per scope (a
    # call page's, with no rows, by everyone).
    scope = words_scope(who) if filters != CALL_ONLY else NO_WORDS
    share = ctx.shares.take(who, (filters, scope))
    try:
        view = await ctx.board.watch(filters, scope)
    except TooManyViews as exc:
        share.release()
        raise ApiError(503, "too-many-views", str(exc), {"Retry-After": "5"}) from None
    try:
        if scope != NO_WORDS:
            await words.audit(ctx, who, "GET /events/board", scope=scope)
    except BaseException:
        ctx.board.unwatch(view)
        share.release()
        raise
    return EventSourceResponse(
        _stream(ctx, view, who, watch, share, queues=query.get("queues") == "1"),
        ping=ctx.settings.sse_ping_seconds,
        send_timeout=ctx.settings.sse_send_timeout_seconds,
        headers=CORS,
        background=BackgroundTask(share.arelease),
    )


async def options(request: Request) -> Response:
    """A browser may ask before it opens the stream from another origin."""
    return Response(
        status_code=204,
        headers={**CORS, "Access-Control-Allow-Methods": "GET", "Access-Control-Max-Age": "600"},
    )
