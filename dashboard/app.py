"""`earpiece dashboard`: the Streamlit app. Checks the settings, signs the
supervisor in, then hands over to the pages (one module each, in views/)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import i18n, ui, words
from dashboard.i18n import _

VIEWS = Path(__file__).parent / "views"  # one module per page


def main() -> None:
    st.set_page_config(page_title="Earpiece", page_icon="🎧", layout="wide")
    settings = ui.settings()
    # Before anyone signs in: the browser's language, else the setting (the sign-in form).
    browser = st.context.headers.get("Accept-Language")
    i18n.use(i18n.choose(None, browser, settings.language))
    rt = ui.runtime(settings)
    who = ui.signed_in(settings, rt) or ui.sign_in_form(settings, rt)
    if who is None:
        return
    language = i18n.choose(who.language, browser, settings.language)
    i18n.use(language)
    st.session_state[ui.PAGE_KEY] = ui.Page(
        settings,
        rt,
        who,
        st.session_state.get("session_key"),
        language,
        st.session_state.get("session_token"),
    )
    pages = [
        st.Page(VIEWS / "floor.py", title=_("Floor"), icon=":material/dashboard:", default=True),
        st.Page(VIEWS / "call.py", title=_("Call"), icon=":material/headset_mic:", url_path="call"),
        st.Page(
            VIEWS / "queues.py", title=_("Queues"), icon=":material/groups:", url_path="queues"
        ),
        st.Page(VIEWS / "agents.py", title=_("Agents"), icon=":material/badge:", url_path="agents"),
        st.Page(VIEWS / "day.py", title=_("Day"), icon=":material/bar_chart:", url_path="day"),
        st.Page(
            VIEWS / "wallboard.py", title=_("Wallboard"), icon=":material/tv:", url_path="wallboard"
        ),
        st.Page(VIEWS / "calls.py", title=_("Calls"), icon=":material/history:", url_path="calls"),
        st.Page(
            VIEWS / "audit.py", title=_("Audit"), icon=":material/fact_check:", url_path="audit"
        ),
    ]
    navigation = st.navigation(pages)
    with st.sidebar:
        teams = ", ".join(who.teams) if who.role == "lead" else _("all teams")
        role = words.word(words.SUPERVISOR_ROLES, who.role)
        st.text(f"{who.name} · {role} · {teams}")
        if st.button(_("Sign out"), key="signout"):
            ui.sign_out(rt, who)
    navigation.run()


main()
