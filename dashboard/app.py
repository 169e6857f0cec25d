"""`earpiece dashboard`: the Streamlit app. Checks the settings, signs the
supervisor in, then hands over to the pages (one module each, in views/)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import ui

VIEWS = Path(__file__).parent / "views"  # one module per page


def main() -> None:
    st.set_page_config(page_title="Earpiece", page_icon="🎧", layout="wide")
    settings = ui.settings()
    rt = ui.runtime(settings)
    who = ui.signed_in(settings, rt) or ui.sign_in_form(settings, rt)
    if who is None:
        return
    st.session_state[ui.PAGE_KEY] = ui.Page(settings, rt, who, st.session_state.get("session_key"))
    pages = [
        st.Page(VIEWS / "floor.py", title="Floor", icon=":material/dashboard:", default=True),
        st.Page(VIEWS / "call.py", title="Call", icon=":material/headset_mic:", url_path="call"),
        st.Page(VIEWS / "queues.py", title="Queues", icon=":material/groups:", url_path="queues"),
        st.Page(VIEWS / "agents.py", title="Agents", icon=":material/badge:", url_path="agents"),
        st.Page(VIEWS / "day.py", title="Day", icon=":material/bar_chart:", url_path="day"),
        st.Page(
            VIEWS / "wallboard.py", title="Wallboard", icon=":material/tv:", url_path="wallboard"
        ),
        st.Page(VIEWS / "calls.py", title="Calls", icon=":material/history:", url_path="calls"),
        st.Page(VIEWS / "audit.py", title="Audit", icon=":material/fact_check:", url_path="audit"),
    ]
    navigation = st.navigation(pages)
    with st.sidebar:
        teams = ", ".join(who.teams) if who.role == "lead" else "all teams"
        st.text(f"{who.name} · {who.role} · {teams}")
        if st.button("Sign out", key="signout"):
            ui.sign_out(rt, who)
    navigation.run()


main()
