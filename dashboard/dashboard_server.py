"""What `earpiece dashboard` runs: Streamlit's own server for the app (app.py), as an
`st.App` (Streamlit 1.67's ASGI app on uvicorn), plus the dashboard's routes that set
the session cookie from the server (dashboard/cookie_routes.py). Streamlit's
`streamlit run` finds `app` here and serves it with the usual `--server.*` options."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.settings import load
from dashboard.cookie_routes import routes

app = st.App(str(Path(__file__).parent / "app.py"), routes=routes(load()))
