"""Single sign-on on the dashboard: Streamlit's own `st.login` (OpenID Connect), mapped to
roster supervisors by the provider's `sub`, found the first time by a verified `email`
(access/oidc_identity.py).

`earpiece dashboard` writes Streamlit's `[auth]` secrets from the settings
(EARPIECE_OIDC_ISSUER, _CLIENT_ID, _CLIENT_SECRET; the redirect URI is
EARPIECE_DASHBOARD_URL + /oauth2callback) into a file only the process's
user can read, and points Streamlit at it. After the provider signs someone
in, `st.user` holds the ID token's claims; Earpiece then opens its own
server-side session, as for a password, so sign-out, the maximum age and the
audit work the same. Streamlit keeps the identity in a cookie of its own for
much longer than a session, so an identity is trusted only if the provider
issued it (`iat`) within EARPIECE_SESSION_HOURS and after the supervisor's
last sign-out; otherwise Earpiece forgets it (`st.logout`) and asks again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from access.oidc_identity import verified
from core.private_files import private_dir
from core.settings import Settings
from dashboard.i18n import _

SECRETS_NAME = "dashboard-secrets.toml"


def configured(settings: Settings) -> bool:
    return bool(settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret)


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def secrets_file(settings: Settings) -> Path | None:
    """Write Streamlit's [auth] secrets for SSO (mode 0600); None when SSO is not set up."""
    if not configured(settings):
        return None
    assert settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret
    assert settings.session_secret is not None
    metadata = settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
    text = "\n".join(
        [
            "[auth]",
            f"redirect_uri = {_toml(settings.dashboard_url.rstrip('/') + '/oauth2callback')}",
            f"cookie_secret = {_toml(settings.session_secret)}",
            f"client_id = {_toml(settings.oidc_client_id)}",
            f"client_secret = {_toml(settings.oidc_client_secret)}",
            f"server_metadata_url = {_toml(metadata)}",
            # prompt=login: the provider authenticates the supervisor afresh at every sign-in
            # (no silent sign-in from the provider's own session after an Earpiece sign-out).
            'client_kwargs = { scope = "openid email profile", prompt = "login" }',
            "",
        ]
    )
    private_dir(settings.data_dir)
    path = (settings.data_dir / SECRETS_NAME).resolve()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, 0o600)
    return path


def refusal(claims: Mapping[str, Any]) -> str:
    """Why an identity the provider signed in opens no session, for the sign-in form."""
    email = claims.get("email")
    name = email if isinstance(email, str) and email else _("This account")
    if not verified(claims, "email"):
        return _(
            "{name}: the provider has not verified this email, so it names nobody here."
        ).format(name=name)
    return _("{name} is not a supervisor on the roster.").format(name=name)


def fresh(issued_at: object, signed_out_at: float | None, max_age_seconds: float) -> bool:
    """Whether an identity the provider issued at `issued_at` may open a session now."""
    if isinstance(issued_at, bool) or not isinstance(issued_at, int | float):
        return False
    if time.time() - issued_at > max_age_seconds:
        return False
    return signed_out_at is None or issued_at > signed_out_at
