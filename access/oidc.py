"""OIDC access tokens: a JWT from the organisation's identity provider, for the API.

Verified with PyJWT against the issuer's signing keys (its JWKS, found
through `/.well-known/openid-configuration`): signature, `iss`, `aud`,
`exp`, `iat` and `nbf`, asymmetric algorithms only (an `alg: none` or HS256
token signed with a public key is refused). A token that lives longer than
EARPIECE_OIDC_MAX_TOKEN_SECONDS (exp - iat; `iat` is required, as RFC 9068
section 2.2 requires it of JWT access tokens) is refused: an access token
cannot be revoked, so a year-3000 `exp` would be a key for good. Who it is:
the issuer's `sub`, bound to a roster supervisor the first time by their
verified email (access/oidc_identity.py).

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

from access.oidc_identity import Identities
from access.principal import Principal, of_supervisor
from core import tls
from core.redis_client import AsyncRedis
from live.roster import Roster

log = logging.getLogger("earpiece.access")

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]
LEEWAY_SECONDS = 30
REFETCH_SECONDS = 60.0
FETCH_TIMEOUT_SECONDS = 5.0
MAX_TOKEN_CHARS = 8192


class OidcVerifier:
    def __init__(
        self,
        issuer: str,
        audience: str,
        claim: str,
        roster: Roster,
        *,
        redis: AsyncRedis,
        namespace: str,
        max_token_seconds: float,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.max_token_seconds = max_token_seconds
        self.identities = Identities(redis, namespace, roster, claim)
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def _fetch(self) -> None:
        async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS, verify=tls.context()) as http:
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
                token,
                key=key.key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError:
            return None
        if not self.short_lived(claims):
            return None
        who = await self.identities.supervisor(claims)
        if who is None:
            return None
        # A stream it opened ends when the token expires (access/liveness.py).
        return replace(of_supervisor(who, "oidc"), until=float(claims["exp"]))

    def short_lived(self, claims: dict[str, Any]) -> bool:
        """Issued to live at most EARPIECE_OIDC_MAX_TOKEN_SECONDS, and not issued in the
        future (PyJWT checked both are numbers)."""
        issued, expires = float(claims["iat"]), float(claims["exp"])
        if issued > time.time() + LEEWAY_SECONDS:
            return False
        return expires - issued <= self.max_token_seconds + LEEWAY_SECONDS


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2
