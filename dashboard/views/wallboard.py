"""The wallboard: the queues in big numbers for a TV, with nothing else on the screen.

For a 1920x1080 screen (issue 27): the floor's totals and a clock (the floor's time zone) on
top, a tile per queue with its service-level target and, when it is red or amber, the reason
written on it. Per wallboard, in its address: `?queues=sales,support` (the queues it shows,
by name) and `?theme=dark`.
"""

from __future__ import annotations

import streamlit as st

from dashboard import ui
from dashboard.views import queues

# Streamlit's own chrome off this page: the sidebar, the header and the page padding.
FULL_SCREEN = """
<style>
section[data-testid="stSidebar"], header[data-testid="stHeader"],
div[data-testid="stSidebarCollapsedControl"] { display: none !important; }
div[data-testid="stMainBlockContainer"] {
  padding: 1rem 1.5rem !important; max-width: 100% !important;
}
</style>
"""
DARK_PAGE = "<style>.stApp, .stMain { background: #0e1117 !important; }</style>"
MAX_QUEUES = 100


def options(page: ui.Page) -> dict[str, object]:
    """The wallboard's own choices from its address (text someone typed: bounded, names only)."""
    raw = str(st.query_params.get("queues", ""))[:4000]
    chosen = [name.strip() for name in raw.split(",") if name.strip()][:MAX_QUEUES]
    return {
        "queues": chosen,
        "dark": st.query_params.get("theme") == "dark",
        "target": page.settings.service_level_target,
        "timezone": page.settings.timezone,
    }


page = ui.current()
chosen = options(page)
st.html(FULL_SCREEN + (DARK_PAGE if chosen["dark"] else ""))
queues.main(wall=True, options=chosen)
