"""OIDC access tokens: a JWT from the organisation's identity provider, for the API.

Verified with PyJWT against the issuer's signing keys (its JWKS, found
through `/.well-known/openid-configuration`): signature, `iss`, `aud`,
`exp` and `nbf`, asymmetric algorithms only (an `alg: none` or HS256 token
signed with a public key is refused). The token's `EARPIECE_OIDC_CLAIM`
(default `email`) names a roster supervisor by their `email`.

The keys are fetched once and cached; a token signed with a key id the cache
does not know makes one refetch (at most every `REFETCH_SECONDS`), so the
provider's key rotation is followed without a restart, and a flood of tokens
with made-up key ids cannot make Earpiece hammer the provider.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from typing import Any

import httpx
import jwt

from access.principal import Principal, of_supervisor
from earpiece.roster import Roster

log = logging.getLogger("earpiece.access")

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]
LEEWAY_SECONDS = 30
REFETCH_SECONDS = 60.0
FETCH_TIMEOUT_SECONDS = 5.0
MAX_TOKEN_CHARS = 8192


class OidcVerifier:
    def __init__(self, issuer: str, audience: str, claim: str, roster: Roster) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.claim = claim
        self.by_email = {s.email.lower(): s for s in roster.supervisors.values() if s.email}
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def _fetch(self) -> None:
        async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS) as http:
            meta = (await http.get(self.issuer + "/.well-known/openid-configuration")).json()
            jwks = (await http.get(str(meta["jwks_uri"]))).json()
        keys: dict[str, jwt.PyJWK] = {}
        for raw in jwks.get("keys", []):
            try:
                key = jwt.PyJWK(raw)
            except (jwt.PyJWKError, jwt.InvalidKeyError):
                continue  # a key type we do not use (an encryption key, say)
            keys[str(raw.get("kid", ""))] = key
        self._keys = keys

    async def _key(self, kid: str) -> jwt.PyJWK | None:
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            if kid not in self._keys and time.monotonic() - self._fetched_at > REFETCH_SECONDS:
                self._fetched_at = time.monotonic()
                try:
                    await self._fetch()
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    log.warning("could not fetch the OIDC issuer's keys: %s", exc)
        return self._keys.get(kid)

    async def authenticate(self, token: str) -> Principal | None:
        """The roster supervisor a valid access token names, or None."""
        if len(token) > MAX_TOKEN_CHARS:
            return None
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        key = await self._key(str(header.get("kid", "")))
        if key is None:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key=key.key, algorithms=ALGORITHMS, audience=self.audience,
                issuer=self.issuer, leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )  # fmt: skip
        except jwt.PyJWTError:
            return None
        value = claims.get(self.claim)
        if not isinstance(value, str):
            return None
        who = self.by_email.get(value.lower())
        if who is None:
            return None
        # A stream it opened ends when the token expires (access/liveness.py).
        return replace(of_supervisor(who, "oidc"), until=float(claims["exp"]))


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2
