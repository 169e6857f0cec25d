"""Dashboard sign-in sessions: a signed, expiring token naming a roster supervisor.

The dashboard keeps the token in its URL (`?session=`), so a reload stays
signed in, and `earpiece signin-link` (and the demo) hand one out. Tokens are
HMAC-SHA256 signed with EARPIECE_SESSION_SECRET, or, when that is unset, with
a key derived from the Twilio auth token, which every Earpiece process has
(rotating the auth token then signs everyone out).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from earpiece.roster import Roster, Supervisor
from earpiece.settings import SettingError, Settings


class BadSession(ValueError):
    """The token is malformed, forged, expired or names nobody on the roster."""


def _key(settings: Settings) -> bytes:
    if settings.session_secret:
        return settings.session_secret.encode()
    if not settings.twilio_auth_token:
        raise SettingError(
            "EARPIECE_SESSION_SECRET is not set, nor TWILIO_AUTH_TOKEN to derive it from: "
            "it signs dashboard sessions"
        )
    token = settings.twilio_auth_token.encode()
    return hmac.new(token, b"earpiece dashboard sessions", "sha256").digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(settings: Settings, supervisor: str, *, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + settings.session_hours * 3600)
    payload = f"{supervisor}\n{expires}".encode()
    signature = hmac.new(_key(settings), payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def check(
    settings: Settings, roster: Roster, token: str, *, now: float | None = None
) -> Supervisor:
    """The supervisor a token signs in, or BadSession saying why not."""
    try:
        payload_part, signature_part = token.split(".")
        payload, signature = _unb64(payload_part), _unb64(signature_part)
        supervisor, expires_text = payload.decode().split("\n")
        expires = int(expires_text)
    except (ValueError, UnicodeDecodeError):
        raise BadSession("the sign-in link is malformed") from None
    expected = hmac.new(_key(settings), payload, hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise BadSession("the sign-in link is not valid here")
    if expires < (now if now is not None else time.time()):
        raise BadSession("the sign-in link has expired; sign in again")
    who = roster.supervisors.get(supervisor)
    if who is None:
        raise BadSession(f"{supervisor!r} is no longer on the roster")
    return who
