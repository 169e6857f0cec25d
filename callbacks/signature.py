"""Twilio's webhook signature (X-Twilio-Signature), checked with one HMAC.

Twilio signs the full URL it requested (with the query), followed by every
POST parameter's name and value, sorted by name, with HMAC-SHA1 keyed by the
account's auth token, base64-encoded. Over HTTPS Twilio sometimes signs the
URL without the port and sometimes with it, so on a mismatch the other form is
tried too (as twilio.request_validator does); a valid request pays for one
HMAC only.

The URL is the one Twilio requested: "from the protocol through the end of
the query string" (https://www.twilio.com/docs/usage/security#validating-requests).
A connection-overrides fragment (`#rc=3&...`) is after the query string and
never sent. Twilio's pages do not say whether the signature covers it
(https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides is
silent), so both forms are accepted: the URL as requested first (one HMAC for
a valid request), then with each fragment the service itself put on its
callback URLs (`fragments`; only those, so nothing a caller chose is tried).

Shared keys (https://www.twilio.com/docs/usage/webhooks/webhook-shared-keys,
public beta): when a Webhook Rule matches, Twilio signs with that Setting's
SharedKey and algorithm instead, and says which in
`X-Twilio-Webhooks-Signature-Settings: key=<id>,algorithm=HMAC_SHA256`; the
signed string is the same. twilio-python's RequestValidator reads the header
the same way (get_signature_algorithm). A request naming a key Earpiece was
not given (TWILIO_WEBHOOK_SHARED_KEYS) is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

ALGORITHMS = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}


def compute(
    key: bytes, url: str, pairs: Iterable[tuple[str, str]], algorithm: str = "HMAC_SHA1"
) -> str:
    # Sorting the distinct (name, value) pairs is Twilio's order: names sorted,
    # and a repeated name's distinct values sorted.
    payload = url + "".join(name + value for name, value in sorted(set(pairs)))
    digest = hmac.digest(key, payload.encode("utf-8"), ALGORITHMS[algorithm])
    return base64.b64encode(digest).decode("ascii")


def settings_of(header: str) -> tuple[str, str]:
    """(key id, algorithm) of an X-Twilio-Webhooks-Signature-Settings header."""
    fields = {}
    for part in header.split(","):
        name, sep, value = part.partition("=")
        if sep:
            fields[name.strip()] = value.strip()
    return fields.get("key", ""), fields.get("algorithm", "HMAC_SHA1").upper()


def _other_port_form(url: str) -> str:
    parts = urlsplit(url)
    if parts.port is not None:
        return urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]))
    port = 443 if parts.scheme == "https" else 80
    return urlunsplit(parts._replace(netloc=f"{parts.netloc}:{port}"))


class SignatureChecker:
    def __init__(
        self,
        auth_token: str,
        public_base_url: str,
        shared_keys: Mapping[str, str] | None = None,
        fragments: tuple[str, ...] = (),
    ) -> None:
        self._token = auth_token.encode("utf-8")
        self._base = public_base_url.rstrip("/")
        self._shared = {k: v.encode("utf-8") for k, v in (shared_keys or {}).items()}
        self._fragments = tuple(f if f.startswith("#") else "#" + f for f in fragments if f)

    def url_for(self, path: str, query: str) -> str:
        return f"{self._base}{path}?{query}" if query else f"{self._base}{path}"

    def valid(
        self,
        path: str,
        query: str,
        pairs: list[tuple[str, str]],
        signature: str,
        signature_settings: str | None = None,
    ) -> bool:
        if not signature:
            return False
        key, algorithm = self._token, "HMAC_SHA1"
        if signature_settings:
            key_id, algorithm = settings_of(signature_settings)
            shared = self._shared.get(key_id)
            if shared is None or algorithm not in ALGORITHMS:
                return False
            key = shared
        url = self.url_for(path, query)
        # The URL as requested first: a valid request pays for one HMAC and nothing else
        # (the other port's form is worked out only when that one does not match).
        if hmac.compare_digest(compute(key, url, pairs, algorithm), signature):
            return True
        forms = (url, _other_port_form(url))
        for fragment in ("", *self._fragments):
            for form in forms:
                if not fragment and form is url:
                    continue  # tried above
                if hmac.compare_digest(compute(key, form + fragment, pairs, algorithm), signature):
                    return True
        return False
