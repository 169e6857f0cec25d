"""The wallboard: the queues in big numbers for a TV, with nothing else on the screen."""

from __future__ import annotations

import streamlit as st

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

st.html(FULL_SCREEN)
queues.main(wall=True)
