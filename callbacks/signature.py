"""Twilio's webhook signature (X-Twilio-Signature), checked with one HMAC.

Twilio signs the full URL it requested (with the query), followed by every
POST parameter's name and value, sorted by name, with HMAC-SHA1 keyed by the
account's auth token, base64-encoded. Over HTTPS Twilio sometimes signs the
URL without the port and sometimes with it, so on a mismatch the other form is
tried too (as twilio.request_validator does); a valid request pays for one
HMAC only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit


def compute(auth_token: bytes, url: str, pairs: Iterable[tuple[str, str]]) -> str:
    # Sorting the distinct (name, value) pairs is Twilio's order: names sorted,
    # and a repeated name's distinct values sorted.
    payload = url + "".join(name + value for name, value in sorted(set(pairs)))
    digest = hmac.digest(auth_token, payload.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(digest).decode("ascii")


def _other_port_form(url: str) -> str:
    parts = urlsplit(url)
    if parts.port is not None:
        return urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]))
    port = 443 if parts.scheme == "https" else 80
    return urlunsplit(parts._replace(netloc=f"{parts.netloc}:{port}"))


class SignatureChecker:
    def __init__(self, auth_token: str, public_base_url: str) -> None:
        self._token = auth_token.encode("utf-8")
        self._base = public_base_url.rstrip("/")

    def url_for(self, path: str, query: str) -> str:
        return f"{self._base}{path}?{query}" if query else f"{self._base}{path}"

    def valid(self, path: str, query: str, pairs: list[tuple[str, str]], signature: str) -> bool:
        if not signature:
            return False
        url = self.url_for(path, query)
        if hmac.compare_digest(compute(self._token, url, pairs), signature):
            return True
        return hmac.compare_digest(compute(self._token, _other_port_form(url), pairs), signature)
