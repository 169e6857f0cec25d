"""The browser's side of a dashboard session: one cookie holding an opaque token."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from access.sessions import COOKIE

_mount = st.components.v2.component(
    "earpiece_session",
    js=(Path(__file__).parent / "session_component" / "cookie.js").read_text(encoding="utf-8"),
)


def token() -> str | None:
    value = st.context.cookies.get(COOKIE)
    return value if isinstance(value, str) and value else None


def keep(token: str, max_age_seconds: float) -> None:
    _mount(key="session-cookie-keep", data={"name": COOKIE, "token": token,
                                       "max_age": int(max_age_seconds)})  # fmt: skip


def forget() -> None:
    _mount(key="session-cookie-forget", data={"name": COOKIE, "clear": True})
