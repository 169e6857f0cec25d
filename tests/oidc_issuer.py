"""A real, local OpenID Connect issuer for the tests: its discovery document and its signing
keys (JWKS) over HTTP, and access tokens signed with its RSA key, as an organisation's
identity provider issues them."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.helpers import ServerThread

AUDIENCE = "earpiece"


@dataclass
class Issuer:
    url: str = ""
    key: Any = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    kid: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    thread: ServerThread | None = None

    def app(self) -> Starlette:
        async def discovery(request: Request) -> JSONResponse:
            return JSONResponse({"issuer": self.url, "jwks_uri": self.url + "/jwks",
                                 "id_token_signing_alg_values_supported": ["RS256"]})  # fmt: skip

        async def jwks(request: Request) -> JSONResponse:
            public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
            return JSONResponse({"keys": [{**public, "kid": self.kid, "use": "sig",
                                           "alg": "RS256"}]})  # fmt: skip

        return Starlette(routes=[
            Route("/.well-known/openid-configuration", discovery),
            Route("/jwks", jwks),
        ])  # fmt: skip

    def token(self, email: str, *, key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        # A verified email, as a provider sends one it checked (OIDC Core 5.1); the sub is
        # the email unless a test gives its own (a provider's is an opaque, stable id).
        body = {"iss": self.url, "aud": AUDIENCE, "sub": email, "email": email,
                "email_verified": True, "iat": now, "exp": now + 300, **claims}  # fmt: skip
        body = {k: v for k, v in body.items() if v is not None}  # None: the claim left out
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": self.kid})


def start_issuer() -> Issuer:
    issuer = Issuer()
    port = ServerThread.free_port()
    issuer.url = f"http://127.0.0.1:{port}"
    issuer.thread = ServerThread(issuer.app(), port, None)
    issuer.thread.start()
    return issuer
