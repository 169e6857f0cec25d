"""The Streamlit dashboard."""

from __future__ import annotations

from pathlib import Path

APP = Path(__file__).parent / "app.py"

# What the dashboard needs: where the callback service is (its API, which it acts through,
# and its board stream) and the sessions' secret. No Twilio credential: it acts only
# through the API, with the signed-in supervisor's session (issue 24).
REQUIRED = ("PUBLIC_BASE_URL", "EARPIECE_SESSION_SECRET")
# Secrets of the callback service that the dashboard's process never holds: `earpiece
# dashboard` takes them out of the environment it hands Streamlit (a Procfile or a
# container often gives both processes one environment).
NOT_ITS_OWN = (
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_WEBHOOK_SHARED_KEYS",
    "EARPIECE_API_TOKEN",
)
