"""The process's one TLS context for its HTTPS clients (Twilio's media, an OIDC provider,
the dashboard's API client).

httpx builds a new SSL context for every client it makes, loading certifi's CA bundle:
~25 ms of CPU each (measured here: 24.9 ms a client, 0.09 ms with a context passed in),
which an archiver that opens a client per recording, or a suite that makes a client per
request, pays every time. An `ssl.SSLContext` is safe to share between clients and
threads once configured, so one made the way httpx makes its default (certifi's bundle,
or SSL_CERT_FILE / SSL_CERT_DIR where the environment names them) serves the process.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def context() -> ssl.SSLContext:
    """httpx's own default context, made once."""
    return httpx.create_ssl_context()
