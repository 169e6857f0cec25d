"""The browser's side of a dashboard session: one HttpOnly cookie holding an opaque token,
set and cleared by the dashboard's server (dashboard/cookie_routes.py), never by a script:
the page only posts a one-time handoff code (access/cookie_handoff.py)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from access.sessions import COOKIE
from dashboard.cookie_routes import SESSION_PATH, SIGNOUT_PATH

_mount = st.components.v2.component(
    "earpiece_session",
    js=(Path(__file__).parent / "session_component" / "cookie.js").read_text(encoding="utf-8"),
)


def token() -> str | None:
    """The session token the browser sent (Streamlit reads the cookie server-side, from the
    page's connection: HttpOnly cookies included)."""
    value = st.context.cookies.get(COOKIE)
    return value if isinstance(value, str) and value else None


def keep(code: str) -> None:
    """The browser trades `code` for its HttpOnly session cookie."""
    _mount(key="session-cookie-keep", data={"url": SESSION_PATH, "code": code})


def forget() -> None:
    _mount(key="session-cookie-forget", data={"url": SIGNOUT_PATH})
