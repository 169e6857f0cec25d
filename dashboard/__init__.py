"""The Streamlit dashboard."""

from __future__ import annotations

from pathlib import Path

APP = Path(__file__).parent / "app.py"
# What `earpiece dashboard` serves: the app, plus the routes that set its session cookie.
SERVER = Path(__file__).parent / "dashboard_server.py"

# What the dashboard needs to act on calls (the callback service needs the API token too).
REQUIRED = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL", "EARPIECE_SESSION_SECRET")
