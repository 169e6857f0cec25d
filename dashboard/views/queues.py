"""Queues: the TaskRouter floor, a tile per TaskQueue and every agent (issue 12).

Drawn by the browser (dashboard/board.py, the component's queues mode) from the
callback service's `queues` events, worked out once for every watcher; the
page's script reruns only to act: Listen on an agent's call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from access.modes import refusal
from dashboard import board, ui
from dashboard.i18n import _
from dashboard.runtime import Unavailable
from dashboard.text import literal
from live.board import monitors_by_supervisor

WALL = "wall"


def new_stream(page: ui.Page) -> None:
    ticket = board.new_ticket(page, "board")
    if ticket is not None:
        st.session_state["queues-ticket"] = ticket
        st.session_state["queues-url"] = board.queues_url(page.settings.board_feed_url, ticket)


def on_listen() -> None:
    sid = board.trigger("listen", board.QUEUES_KEY)
    if isinstance(sid, str) and len(sid) <= 64:
        st.session_state["queues-listen"] = sid


def on_refresh() -> None:
    value = board.trigger("refresh", board.QUEUES_KEY)
    state = st.session_state
    if isinstance(value, dict) and value.get("ticket") == state.get("queues-ticket"):
        state["queues-new-ticket"] = True


def live_part(page: ui.Page, wall: bool, options: Mapping[str, Any] | None = None) -> None:
    ui.still_signed_in(page)
    state = st.session_state
    if state.pop("queues-new-ticket", False):
        new_stream(page)
    sid = state.pop("queues-listen", None)
    if sid:
        ui.act(
            page,
            _("Joining to listen: your phone rings, you join muted"),
            lambda: page.acting.join(sid, "listen"),
        )
    ui.show_flash()
    if not wall:
        own_call(page)
    roster = page.runtime.roster
    # The teams whose calls this supervisor may join, as the Floor's buttons decide.
    joinable = [t for t in roster.teams if refusal(page.who, "listen", t) is None]
    board.show_queues(
        url=state.get("queues-url", ""),
        ticket=state.get("queues-ticket", ""),
        wall=wall,
        on_listen=on_listen,
        on_refresh=on_refresh,
        clock=board.place(page),
        options=options,
        teams=None if len(joinable) == len(roster.teams) else joinable,
    )


def own_call(page: ui.Page) -> None:
    """The call you joined from here, with the Floor's controls (issue 28: Listen from Queues
    left you with no Leave)."""
    try:
        conferences = page.runtime.floor(page.settings.dashboard_refresh_seconds).conferences
    except Unavailable:
        return
    mine = monitors_by_supervisor(conferences).get(page.who.id)
    conference = next((c for c in conferences if mine and c["sid"] == mine["sid"]), None)
    if conference is None:
        return
    with st.container(border=True):
        agent = conference.get("agent")
        st.markdown(
            _("**You are on {agent}'s call**").format(agent=literal(agent))
            if agent
            else _("**You are on a call**")
        )
        ui.mic_banner(conference, page.who.id)
        ui.mode_buttons(page, conference, key=f"q-own-{conference['sid']}", shortcuts=True)


def main(wall: bool = False, options: Mapping[str, Any] | None = None) -> None:
    page = ui.current()
    if not wall:
        st.title(_("Queues"))
        st.caption(_("For a screen on the wall: the Wallboard page (big numbers, no sidebar)."))
    new_stream(page)
    st.fragment(live_part)(page, wall, options)


if __name__ == "__main__":
    main()
