"""Listen in browser (issue 26): the control beside Listen, and the player that hears calls.

The sound never passes through Streamlit: the player (`listen_component/listen.js`,
shipped in this package, no CDN) opens a WebSocket per call straight to the callback
service's `/listen/audio` with a one-time ticket for that call and this supervisor,
issued here after the same check as joining listen-only (access/policy.py
`hear_refusal`). The page reruns only when the player asks: a socket closed and wants
a new ticket, a call was removed, or scan moves on.

What a team lead expects, where the issue is silent:
- up to four calls at once (MAX_CALLS), each with its own level and mute, kept while
  they move between the Floor and a call page (the calls are the session's);
- "scan" (on the Floor) hears the live calls you may hear (talking or on hold, in the
  order they started) one after another, N seconds each, as PBX supervisors do with
  ChanSpy; it replaces what you hear while it runs, and stopping it brings your calls back;
- a call that ends says so in the player and leaves it on the next rerun.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from access.policy import hear_refusal
from access.principal import of_supervisor
from core import tickets
from dashboard import board, component_words, heard, reading, ui, words
from dashboard.i18n import _
from dashboard.runtime import Unavailable
from dashboard.text import literal
from live import ears as ears_module

ASSETS = Path(__file__).parent / "listen_component"
KEY = "listen-player"
MAX_CALLS = 4
SCAN_SECONDS = (5, 10, 20, 30)
SCAN = "listen-scan"  # session: {seconds, sid} while scanning

_mount = st.components.v2.component(
    "earpiece_listen",
    css=(ASSETS / "listen.css").read_text(encoding="utf-8"),
    js=(ASSETS / "listen.js").read_text(encoding="utf-8"),
)


def audio_url(feed_url: str, sid: str, ticket: str) -> str:
    base = feed_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    return f"{base}/listen/audio?" + urlencode([("sid", sid), ("ticket", ticket)])


def refusal(page: ui.Page, conference: Mapping[str, Any]) -> str | None:
    """Why this supervisor may not hear this call in the browser, or None."""
    if not page.runtime.media_available:
        return _("Twilio offers Media Streams only in US1, IE1 and AU1: Listen rings your phone")
    if conference.get("state") == "ended":
        return _("the call has ended")
    principal = of_supervisor(page.who, "session", page.session)
    team = conference.get("team")
    return words.mode_refusal(
        page.who, "listen", team, hear_refusal(principal, page.runtime.roster, team)
    )


async def hearing(page: ui.Page, sid: str) -> list[str]:
    """The supervisors hearing `sid` in a browser now (live/ears.py), each once."""
    floor = page.runtime.services.floor
    return ears_module.people((await ears_module.every(floor.redis, floor.keys)).get(sid, {}))


def _label(conference: Mapping[str, Any]) -> str:
    return f"{conference.get('agent') or _('No agent yet')} · {conference.get('team') or '—'}"


def _ticket(page: ui.Page, sid: str) -> str | None:
    holder = tickets.Holder("supervisor", page.who.id, page.session, stream="listen", call=sid)
    try:
        issued = page.runtime.run(
            tickets.issue(page.runtime.services.redis, page.settings.namespace, holder)
        )
    except Unavailable:
        return None
    return issued.ticket


def _entry(page: ui.Page, sid: str, label: str) -> dict[str, str] | None:
    ticket = _ticket(page, sid)
    if ticket is None:
        return None
    url = audio_url(page.settings.board_feed_url, sid, ticket)
    return {"sid": sid, "label": label, "ticket": ticket, "url": url}


def control(page: ui.Page, conference: Mapping[str, Any], key: str) -> None:
    """The "Listen in browser" button of one call, and who hears it in a browser."""
    sid = str(conference["sid"])
    reason = refusal(page, conference)
    if reason is None and heard.hears(sid):
        reason = _("you hear this call in the browser (the player above)")
    if reason is None and len(heard.ears()) >= MAX_CALLS:
        reason = _("you hear {count} calls: remove one from the player first").format(
            count=MAX_CALLS
        )
    columns = st.columns([1, 2])
    # on_click: the call is added before the page's run, so the player above draws it.
    columns[0].button(
        _("Listen in browser"),
        key=f"{key}-browser",
        icon=":material/headphones:",
        disabled=reason is not None,
        on_click=_add,
        args=(page, sid, _label(conference)),
        help=reason or _("Hear this call here, with no phone (listen-only)"),
    )
    try:
        others = page.runtime.run(hearing(page, sid))
    except Unavailable:
        others = []
    if others:
        columns[1].caption(
            _("Hearing in the browser: {who}").format(
                who=literal(words.listed([reading.supervisor(page, o) for o in others]))
            )
        )


def _add(page: ui.Page, sid: str, label: str) -> None:
    entry = _entry(page, sid, label)
    if entry is None:
        ui.flash("error", _("The floor is out of reach: try again in a moment."))
        return
    others = [e for e in heard.ears() if e["sid"] != sid]
    heard.keep([*others, entry][-MAX_CALLS:])
    st.session_state.pop(SCAN, None)
    st.session_state["listen-scan-on"] = False


def _on_ticket() -> None:
    value = board.trigger("ticket", KEY)
    if isinstance(value, dict):
        st.session_state["listen-renew"] = value


def _on_remove() -> None:
    value = board.trigger("remove", KEY)
    if isinstance(value, dict):
        sid = value.get("sid")
        heard.stop(str(sid))
        scan = st.session_state.get(SCAN)
        if isinstance(scan, dict) and scan.get("sid") == sid:
            st.session_state.pop(SCAN, None)


def _on_next() -> None:
    value = board.trigger("next", KEY)
    scan = st.session_state.get(SCAN)
    if isinstance(value, dict) and isinstance(scan, dict) and value.get("sid") == scan.get("sid"):
        st.session_state["listen-scan-next"] = True


def _next_scan(page: ui.Page, candidates: list[Mapping[str, Any]], after: str | None) -> None:
    scan = st.session_state.get(SCAN)
    if not isinstance(scan, dict):
        return
    hearable = [
        c for c in candidates if c.get("state") in ("talking", "hold") and refusal(page, c) is None
    ]
    if not hearable:
        scan.update(sid=None, entry=None)
        return
    sids = [str(c["sid"]) for c in hearable]
    start = (sids.index(after) + 1) % len(sids) if after in sids else 0
    chosen = hearable[start]
    scan.update(sid=str(chosen["sid"]), entry=_entry(page, str(chosen["sid"]), _label(chosen)))


def player(page: ui.Page, floor: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    """The player: the calls this supervisor hears (or, scanning, the one scanned). With
    `floor` (the Floor page's calls in the board's order), scan is offered too."""
    state = st.session_state
    renew = state.pop("listen-renew", None)
    if isinstance(renew, dict):
        heard.keep(
            [
                (_entry(page, e["sid"], e["label"]) or e)
                if e.get("ticket") == renew.get("ticket")
                else e
                for e in heard.ears()
            ]
        )
        scan = state.get(SCAN)
        if isinstance(scan, dict) and (scan.get("entry") or {}).get("ticket") == renew.get(
            "ticket"
        ):
            scan["entry"] = _entry(page, scan["entry"]["sid"], scan["entry"]["label"])
    if floor is not None and page.runtime.media_available:
        scanning = st.toggle(
            _("Scan"), key="listen-scan-on", help=_("Hear each call of the Floor's filter in turn")
        )
        seconds = st.session_state.get("listen-scan-seconds", 10)
        if scanning:
            seconds = st.select_slider(
                _("Seconds a call"), SCAN_SECONDS, value=seconds, key="listen-scan-seconds"
            )
        scan = state.get(SCAN)
        if scanning and not isinstance(scan, dict):
            state[SCAN] = {"seconds": seconds, "sid": None, "entry": None}
            _next_scan(page, list(floor.values()), None)
        elif scanning and isinstance(scan, dict):
            scan["seconds"] = seconds
            if state.pop("listen-scan-next", False) or scan.get("sid") not in floor:
                _next_scan(page, list(floor.values()), scan.get("sid"))
        elif not scanning:
            state.pop(SCAN, None)
    scan = state.get(SCAN)
    if isinstance(scan, dict):
        calls = [scan["entry"]] if scan.get("entry") else []
        scanned = {"seconds": scan["seconds"], "sid": scan.get("sid")}
    else:
        calls, scanned = heard.ears(), None
    if not calls and scanned is None:
        return
    data = {
        "calls": calls,
        "scan": scanned,
        "supervisors": reading.supervisor_names(page),
        **component_words.words(component_words.LISTEN),
    }
    _mount(
        key=KEY,
        data=data,
        on_ticket_change=_on_ticket,
        on_remove_change=_on_remove,
        on_next_change=_on_next,
    )
