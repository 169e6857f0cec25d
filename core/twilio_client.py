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

from core.settings import Settings

# The connection overrides of every callback URL Earpiece gives Twilio: three more tries
# on a 5xx (Redis away), a connect timeout or a read timeout. Without them Twilio tries
# once more on a connection failure only, and a callback answered 503 is lost
# (https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides).
CONNECTION_OVERRIDES = "#rc=3&rp=5xx,ct,rt"

# A Region's own Edge Location, for TWILIO_REGION without TWILIO_EDGE. Twilio's regional
# hostnames are {product}.{edge}.{region}.twilio.com (api.tokyo.jp1.twilio.com), and "when
# specifying a region ... also specify the edge"
# (https://www.twilio.com/docs/global-infrastructure/using-the-twilio-rest-api-in-a-non-us-region);
# the edge-less api.jp1.twilio.com form stopped working on 28 April 2026 (the same page).
# Valid pairs: https://www.twilio.com/docs/twilio-cli/general-usage/regional and
# https://www.twilio.com/docs/global-infrastructure/edge-locations (the Python SDK, unlike
# Twilio's Java and C# ones, does not fill the edge in itself).
REGION_EDGES = {
    "au1": "sydney", "br1": "sao-paulo", "de1": "frankfurt", "ie1": "dublin", "jp1": "tokyo",
    "jp2": "osaka", "sg1": "singapore", "us1": "ashburn", "us2": "umatilla",
}  # fmt: skip
TWILIO_API = "https://api.twilio.com"


def region_and_edge(settings: Settings) -> tuple[str | None, str | None]:
    """TWILIO_REGION / TWILIO_EDGE, the edge filled in from the region when only it is set."""
    region, edge = settings.twilio_region, settings.twilio_edge
    if region and not edge:
        edge = REGION_EDGES.get(region)
    return region, edge


def api_base(settings: Settings) -> str:
    """Where REST requests outside the SDK go (a recording's media, archive/media.py): the
    simulator with TWILIO_API_BASE_URL, else the host the SDK's Client picks for
    api.twilio.com with the same region and edge (ClientBase.get_hostname)."""
    if settings.twilio_api_base_url:
        return settings.twilio_api_base_url.rstrip("/")
    region, edge = region_and_edge(settings)
    if not region and not edge:
        return TWILIO_API
    return "https://" + ".".join(p for p in ("api", edge, region or "us1", "twilio.com") if p)


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
        region, edge = region_and_edge(settings)
    return Client(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        region=region,
        edge=edge,
        http_client=http_client,
    )
