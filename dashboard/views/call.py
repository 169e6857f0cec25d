"""One call: who is on it with their flags, what happened so far, and the
supervisor's own leg — with its mode buttons and the microphone banner."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import streamlit as st

from coach.audit import AuditFilter
from dashboard import floor_table, ui
from dashboard.runtime import Unavailable
from live.attention import clock, seconds_since

AUDIT_ON_CALL_LIMIT = 200


def participants(conference: dict[str, Any], mask: bool) -> pd.DataFrame:
    rows = []
    for p in conference.get("participants") or ():
        rows.append({
            "Who": p.get("label") or p.get("call_sid"),
            "Role": p.get("role"),
            "Number": floor_table.mask_number(p.get("number"), mask),
            "Muted": bool(p.get("muted")),
            "On hold": bool(p.get("hold")),
            "Coaching": bool(p.get("coaching")),
            "Speaking": bool(p.get("speaking")),
            "Joined": p.get("joined_at"),
            "Call SID": p.get("call_sid"),
        })  # fmt: skip
    return pd.DataFrame(rows)


def timeline(page: ui.Page, sid: str) -> pd.DataFrame:
    """Twilio's events for the call, with the supervisors' actions on it, oldest first."""
    services = page.runtime.services
    events = page.runtime.run(services.floor.timeline(sid))
    actions = page.runtime.run(
        services.audit.entries(AuditFilter(conference_sid=sid, limit=AUDIT_ON_CALL_LIMIT))
    )
    rows = [{"At": e.at, "What": e.text} for e in events]
    for a in actions:
        what = f"supervisor {a['supervisor']} {a['action']}"
        if a.get("mode"):
            before = f"{a['from_mode']} → " if a.get("from_mode") else ""
            what += f" ({before}{a['mode']})"
        if a.get("outcome") and a["outcome"] != "ok":
            what += f" — {a['outcome']}"
        if a.get("detail"):
            what += f": {a['detail']}"
        rows.append({"At": a["at"], "What": what})
    rows.sort(key=lambda r: r["At"] or "")
    return pd.DataFrame(rows, columns=["At", "What"])


def live_part(page: ui.Page, sid: str) -> None:
    try:
        conference = page.runtime.run(page.runtime.services.floor.conference(sid))
    except Unavailable as exc:
        st.error(f"{exc}. This page shows again as soon as it answers.", icon=":material/warning:")
        return
    if conference is None:
        st.warning(f"No call {sid} is known here (it may have ended more than a day ago).")
        return
    ui.show_flash()
    mask = page.settings.mask_customer_numbers
    number = floor_table.mask_number(floor_table.customer_number(conference), mask)
    st.title(f"{conference.get('agent') or 'No agent yet'} · {conference.get('team') or '—'}")
    if conference.get("state") == "ended":
        st.info(f"This call ended at {conference.get('ended_at')}.", icon=":material/call_end:")
    else:
        duration = clock(seconds_since(conference.get("started_at"), time.time()))
        st.markdown(
            f"Customer **{number or 'unknown'}** · **{conference.get('state')}** for "
            f"**{duration}** · queue {conference.get('queue') or '—'} · "
            f"alerts: {', '.join(conference.get('alerts') or []) or 'none'}"
        )
        ui.mic_banner(conference, page.who.id)
        ui.mode_buttons(page, conference, key=f"call-{sid}")
        st.subheader("On the call")
        st.dataframe(participants(conference, mask), hide_index=True)
    st.subheader("Timeline")
    try:
        st.dataframe(timeline(page, sid), hide_index=True)
    except Unavailable as exc:
        st.error(str(exc), icon=":material/warning:")


def main() -> None:
    page = ui.current()
    sid = st.query_params.get("sid") or st.session_state.get("selected-sid")
    if not sid:
        st.title("Call")
        st.info("Choose a call on the Floor page, then “Open call page”.")
        return
    st.session_state["selected-sid"] = sid
    if st.query_params.get("sid") != sid:
        st.query_params["sid"] = sid
    st.fragment(run_every=page.settings.dashboard_refresh_seconds)(live_part)(page, str(sid))


if __name__ == "__main__":
    main()
