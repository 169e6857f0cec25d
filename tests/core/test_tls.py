"""core/tls.py: one TLS context a process, as strict as httpx's own default."""

from __future__ import annotations

import ssl

import httpx

from core import tls


def test_one_context_verifying_as_httpx_does() -> None:
    shared = tls.context()
    assert shared is tls.context()  # made once: a client no longer loads the CA bundle
    assert shared.verify_mode == ssl.CERT_REQUIRED and shared.check_hostname
    fresh = httpx.create_ssl_context()
    assert len(shared.get_ca_certs()) == len(fresh.get_ca_certs()) > 0
    # A client handed it uses it (no context of its own made).
    with httpx.Client(verify=shared) as client:
        pool = client._transport._pool  # type: ignore[attr-defined]
        assert pool._ssl_context is shared
