"""The one twilio Client of a process.

Real Twilio by default (with TWILIO_REGION / TWILIO_EDGE, FIELD-NOTES 7).
With TWILIO_API_BASE_URL set, every request the SDK makes goes to that base
URL instead: the SDK builds absolute URLs (`https://api.twilio.com/...`), and
its `http_client` hook is where they are re-pointed. The SDK itself is used
unchanged, and nothing else in coach/ knows which one it talks to.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from earpiece.settings import Settings

# The connection overrides of every callback URL Earpiece gives Twilio: three more tries
# on a 5xx (Redis away), a connect timeout or a read timeout. Without them Twilio tries
# once more on a connection failure only, and a callback answered 503 is lost
# (https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides).
CONNECTION_OVERRIDES = "#rc=3&rp=5xx,ct,rt"

# Twilio answers in well under a second; a hung request must not hold a
# supervisor's click (or a worker thread) for long.
REQUEST_TIMEOUT_SECONDS = 10.0


class BaseUrlHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio ships no types
    """Sends every SDK request to `base_url`, keeping the path and query."""

    def __init__(self, base_url: str, timeout: float = REQUEST_TIMEOUT_SECONDS) -> None:
        super().__init__(timeout=timeout)
        parts = urlsplit(base_url)
        self._scheme, self._netloc, self._prefix = (
            parts.scheme,
            parts.netloc,
            parts.path.rstrip("/"),
        )

    def request(self, method: str, url: str, *args: object, **kwargs: object) -> Response:
        parts = urlsplit(url)
        rewritten = urlunsplit(
            (self._scheme, self._netloc, self._prefix + parts.path, parts.query, parts.fragment)
        )
        response: Response = super().request(method, rewritten, *args, **kwargs)
        return response


def make_client(settings: Settings) -> Client:
    settings.require("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
    if settings.twilio_api_base_url:
        http_client: TwilioHttpClient = BaseUrlHttpClient(settings.twilio_api_base_url)
        region = edge = None  # the base URL already says where to go
    else:
        http_client = TwilioHttpClient(timeout=REQUEST_TIMEOUT_SECONDS)
        region, edge = settings.twilio_region, settings.twilio_edge
    return Client(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        region=region,
        edge=edge,
        http_client=http_client,
    )
