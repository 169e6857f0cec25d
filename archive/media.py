"""A recording's audio, fetched from Twilio with the account's credentials (issue 16).

A browser never gets Twilio's credentials nor a media URL it could share: the API
streams the audio through Earpiece to a signed-in person allowed to hear it (the
dashboard's player with a one-time ticket of that recording: callbacks/recording_media.py).
Twilio's media URL is `/2010-04-01/Accounts/{AccountSid}/Recordings/{Sid}.wav`, behind
HTTP Basic auth when the account protects its media (https://www.twilio.com/docs/voice/api/recording,
"Fetch a Recording media file"); TWILIO_API_BASE_URL points it at the simulator. With
TWILIO_REGION / TWILIO_EDGE it is fetched from the Region's own host, as every SDK call is
(api.tokyo.jp1.twilio.com: a jp1 recording is stored in jp1, and the US1 host does not
know it; core/twilio_client.py api_base cites Twilio's regional hostnames page).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx

from core import tls
from core.settings import Settings
from core.twilio_client import api_base
from live.events import is_sid

TIMEOUT_SECONDS = 30.0


class MediaError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def media_url(settings: Settings, recording_sid: str) -> str:
    if not is_sid(recording_sid, "RE"):
        raise MediaError(404, f"{recording_sid[:40]!r} is not a recording SID")
    base = api_base(settings)
    account = settings.twilio_account_sid
    return f"{base}/2010-04-01/Accounts/{account}/Recordings/{recording_sid}.wav"


@contextlib.asynccontextmanager
async def opened(settings: Settings, recording_sid: str) -> AsyncIterator[httpx.Response]:
    """Twilio's answer for the recording's media, open for streaming (MediaError if not 200)."""
    auth = (settings.twilio_account_sid or "", settings.twilio_auth_token or "")
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, auth=auth, verify=tls.context()) as http:
        try:
            async with http.stream("GET", media_url(settings, recording_sid)) as answer:
                if answer.status_code == 404:
                    raise MediaError(404, "Twilio no longer has this recording")
                if answer.status_code != 200:
                    raise MediaError(502, f"Twilio answered {answer.status_code} for the media")
                yield answer
        except httpx.HTTPError as exc:
            raise MediaError(502, f"Twilio did not answer: {exc}") from None
