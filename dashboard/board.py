"""The live board on the Floor page: a browser component fed by the callback service.

The tiles, the table and its footer are drawn in the supervisor's browser
(`board_component/board.js`, shipped in this package: nothing is fetched
from a CDN), which subscribes to `GET /events/board` on the callback service
with a one-time ticket. So a watcher costs this Streamlit process nothing
while the floor changes: the page's script reruns only when the component
asks (a row was clicked; or something Streamlit itself draws changed: help
requests, the supervisor's own leg, the chosen call; or the stream wants a
new ticket). ARCHITECTURE.md says why and what it measured.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from core import tickets
from dashboard import component_words, ui
from dashboard.runtime import Unavailable
from live.board import Filters

ASSETS = Path(__file__).parent / "board_component"
KEY = "live-board"
CALL_KEY = "call-watch"
QUEUES_KEY = "queues-board"

_mount = st.components.v2.component(
    "earpiece_board",
    css=(ASSETS / "board.css").read_text(encoding="utf-8"),
    js=(ASSETS / "board.js").read_text(encoding="utf-8"),
)


def new_ticket(page: ui.Page, stream: str) -> str | None:
    """A one-time ticket for the signed-in supervisor's `stream` (board, transcript), good
    for that stream only and while the session lives (None while Redis is down, or when
    this supervisor asked for more than EARPIECE_TICKETS_PER_MINUTE this minute)."""
    rt = page.runtime
    holder = tickets.Holder("supervisor", page.who.id, page.session, stream=stream)
    try:
        issued = rt.run(
            tickets.issue(
                rt.services.redis, page.settings.namespace, holder, page.settings.tickets_per_minute
            )
        )
    except (Unavailable, tickets.TooManyTickets):
        return None
    return issued.ticket


def stream_url(feed_url: str, ticket: str, filters: Filters) -> str:
    return f"{feed_url}/events/board?" + urlencode([("ticket", ticket), *filters.query()])


def call_url(feed_url: str, ticket: str, sid: str) -> str:
    """The stream a page showing one call waits on: `call` events, no table."""
    return f"{feed_url}/events/board?" + urlencode(
        [("ticket", ticket), ("watch", sid), ("board", "off")]
    )


def place(page: ui.Page) -> dict[str, str]:
    """The floor's clock for a browser component: its zone and the reader's language."""
    return {"zone": page.settings.timezone, "lang": page.language}


# How long a board stream may stay silent before the page greys it (`checkSilence` in
# board_component/board.js): the hub sends `unchanged` on every pass that moved nothing,
# one pass a refresh period, so three periods without a word is a stream in trouble.
SILENT_PERIODS = 3
SILENT_AT_LEAST_SECONDS = 5.0


def silent_after_ms(refresh_seconds: float) -> int:
    return round(max(SILENT_AT_LEAST_SECONDS, SILENT_PERIODS * refresh_seconds) * 1000)


def show(
    *,
    url: str,
    ticket: str,
    me_key: str,
    help_key: str,
    selected: dict[str, str] | None,
    on_select: Callable[[], None],
    on_refresh: Callable[[], None],
    clock: dict[str, str] | None = None,
    hidden: list[str] | None = None,
    refresh_seconds: float = 1.0,
    supervisors: dict[str, str] | None = None,
) -> None:
    data = {
        "url": url,
        "ticket": ticket,
        "me_key": me_key,
        "help_key": help_key,
        "selected": selected,
        "clock": clock,
        "hidden": hidden or [],
        "silent_after_ms": silent_after_ms(refresh_seconds),
        # Who a row's monitors are, by name (the stream says their ids).
        "supervisors": supervisors or {},
        **component_words.data(),
    }
    _mount(key=KEY, data=data, on_select_change=on_select, on_refresh_change=on_refresh)


def queues_url(feed_url: str, ticket: str) -> str:
    """The stream the Queues page and the wallboard draw from: `queues` events, no table."""
    return f"{feed_url}/events/board?" + urlencode(
        [("ticket", ticket), ("board", "off"), ("queues", "1")]
    )


def show_queues(
    *,
    url: str,
    ticket: str,
    wall: bool,
    on_listen: Callable[[], None],
    on_refresh: Callable[[], None],
    clock: dict[str, str] | None = None,
    options: Mapping[str, Any] | None = None,
    teams: list[str] | None = None,
) -> None:
    """Every TaskQueue as a tile, coloured by its alerts (and on the Queues page, every
    agent, with Listen on the calls of `teams`: None for every team). `options`: a
    wallboard's (dashboard/views/wallboard.py)."""
    data = {
        "mode": "wallboard" if wall else "queues",
        "url": url,
        "ticket": ticket,
        "clock": clock,
        "teams": teams,
        **(options or {}),
        **component_words.data(),
    }
    _mount(key=QUEUES_KEY, data=data, on_listen_change=on_listen, on_refresh_change=on_refresh)


AGENTS_KEY = "agents-cards"


def show_agent_cards(
    *,
    url: str,
    ticket: str,
    teams: list[str] | None,
    team: str,
    state: str,
    on_refresh: Callable[[], None],
) -> None:
    """The Agents page's cards, drawn by the browser from the queues stream (issue 27):
    `teams` the ones the supervisor sees (None: all), `team` and `state` the page's filters."""
    data = {
        "mode": "agents",
        "url": url,
        "ticket": ticket,
        "teams": teams,
        "team": team,
        "state": state,
        **component_words.data(),
    }
    _mount(key=AGENTS_KEY, data=data, on_refresh_change=on_refresh)


def watch_call(*, url: str, ticket: str, on_refresh: Callable[[], None]) -> None:
    """Mount the component in its call mode: it draws nothing but a note while it
    reconnects, and asks for a rerun (trigger "refresh") when the call changes."""
    data = {"mode": "call", "url": url, "ticket": ticket, **component_words.data()}
    _mount(key=CALL_KEY, data=data, on_refresh_change=on_refresh)


def trigger(name: str, key: str = KEY) -> Any:
    """The value the component sent with its trigger `name` in this run, if any."""
    result = st.session_state.get(key)
    if result is None:
        return None
    value = getattr(result, name, None)
    if value is None and isinstance(result, dict):
        value = result.get(name)
    return value
