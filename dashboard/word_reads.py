"""The Calls page's reads of words, audited as the API's are (callbacks/words.py).

The Calls page reads the archive store itself (its searches and one call whole), so the
API's audit of those reads (`words-read`) does not see them: a supervisor who opened an
ended call's transcript, or searched what calls said, is recorded here, under the same
action, naming the call or the teams searched (never the words searched for: they may be
a card number). Streamlit runs the page again on every click, so a read is recorded once
a session, for each call opened and each search made, not on every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from dashboard import ui
from live.words import READ_ACTION, read_detail

MODE = "dashboard"
_SEEN = "word-reads"


def _first_time(what: str) -> bool:
    seen: set[str] = st.session_state.setdefault(_SEEN, set())
    if what in seen:
        return False
    seen.add(what)
    return True


def call_opened(page: ui.Page, call: Mapping[str, Any]) -> None:
    """An ended call shown whole: its transcript is read (a call without one reads none)."""
    sid = str(call.get("sid") or "")
    if not call.get("transcript") or not _first_time(f"call {sid}"):
        return
    record = page.runtime.services.audit.record(
        READ_ACTION,
        page.who.id,
        sid,
        mode=MODE,
        detail="Calls page: an ended call",
        agent=str(call.get("agent") or ""),
        friendly_name=str(call.get("friendly_name") or ""),
    )
    page.runtime.run(record)


def searched(page: ui.Page, query: str | None, teams: tuple[str, ...] | None) -> None:
    """A search of what calls said: which calls said it is their words read."""
    if not query or not _first_time(f"search {query}\0{teams}"):
        return
    scope = None if teams is None else frozenset(teams)
    detail = read_detail("Calls page search", scope)
    page.runtime.run(
        page.runtime.services.audit.record(READ_ACTION, page.who.id, "", mode=MODE, detail=detail)
    )
