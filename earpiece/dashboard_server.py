"""What `earpiece dashboard` runs: Streamlit's own server for the app (dashboard/app.py),
as an `st.App` (Streamlit 1.67's ASGI app on uvicorn), plus the dashboard's routes that set
the session cookie from the server (dashboard/cookie_routes.py). Streamlit's
`streamlit run` finds `app` here and serves it with the usual `--server.*` options.

On the commands' floor because it assembles the dashboard's process: the pages read the
floor with what earpiece/services.py `build_reading` makes (Redis, the floor, the queues,
the archive, the audit; no Twilio client), handed to dashboard/runtime.py before the first
page runs.
"""

from __future__ import annotations

import streamlit as st

from core.settings import load
from dashboard import APP
from dashboard.cookie_routes import routes
from dashboard.runtime import assemble_with
from earpiece.services import build_reading

assemble_with(build_reading)
app = st.App(str(APP), routes=routes(load()))
