"""The calls this session hears in the browser: one list in the session, read by the player
(dashboard/listen.py) and by Leave (dashboard/ui.py mode_buttons).

Its own module so both can reach it: the player is drawn with ui's parts, and Leave, which
is ui's, stops what the player plays (a supervisor who hears a call in the browser and
clicks Leave means "I am off this call", not "hang up a phone I am not on").
"""

from __future__ import annotations

import streamlit as st

EARS = "listen-ears"  # session: [{sid, label, ticket, url}]


def ears() -> list[dict[str, str]]:
    found = st.session_state.get(EARS)
    return found if isinstance(found, list) else []


def keep(entries: list[dict[str, str]]) -> None:
    """The calls heard here from now on (the player draws them)."""
    st.session_state[EARS] = entries


def hears(sid: str) -> bool:
    return any(e.get("sid") == sid for e in ears())


def stop(sid: str) -> None:
    """Stop hearing `sid` here: the player, redrawn without it, closes its socket."""
    keep([e for e in ears() if e.get("sid") != sid])
