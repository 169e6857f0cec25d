"""The call page's live transcript: a browser component fed by the callback service.

Like the floor's board (dashboard/board.py), the lines are drawn in the
supervisor's browser (`transcript_component/transcript.js`, shipped in this
package), which follows `GET /events/transcript?sid=` with a one-time ticket:
a line shows within a second of its callback, and Streamlit reruns for none of
them. The open stream also tells the service the call is watched, so a team
that transcribes `monitored` calls has this one transcribed while the page is open.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import streamlit as st

from dashboard import board, component_words, ui

ASSETS = Path(__file__).parent / "transcript_component"
KEY = "call-transcript"

_mount = st.components.v2.component(
    "earpiece_transcript",
    css=(ASSETS / "transcript.css").read_text(encoding="utf-8"),
    js=(ASSETS / "transcript.js").read_text(encoding="utf-8"),
)


def stream_url(feed_url: str, ticket: str, sid: str) -> str:
    return f"{feed_url}/events/transcript?" + urlencode([("ticket", ticket), ("sid", sid)])


def new_stream(page: ui.Page, sid: str) -> None:
    ticket = board.new_ticket(page, "transcript")
    if ticket is not None:
        st.session_state["tx-ticket"] = ticket
        st.session_state["tx-url"] = stream_url(page.settings.board_feed_url, ticket, sid)


def on_refresh() -> None:
    """The stream wants a new ticket (it was closed or refused)."""
    value = board.trigger("refresh", KEY)
    state = st.session_state
    if isinstance(value, dict) and value.get("ticket") == state.get("tx-ticket"):
        state["tx-new-ticket"] = True


def show(page: ui.Page, sid: str, on_change: Callable[[], None] = on_refresh) -> None:
    state = st.session_state
    if state.pop("tx-new-ticket", False) or state.get("tx-sid") != sid:
        state["tx-sid"] = sid
        new_stream(page, sid)
    data = {
        "url": state.get("tx-url", ""),
        "ticket": state.get("tx-ticket", ""),
        "clock": board.place(page),
        **component_words.words(component_words.TRANSCRIPT),
    }
    _mount(key=KEY, data=data, on_refresh_change=on_change)
