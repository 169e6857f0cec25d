# ruff: noqa: F811 (the fixtures imported from test_authorization are the parameters)
"""OIDC access tokens on the API (issue 22): who a token is comes from the issuer's `sub`,
found by email only the first time and only when the provider verified it; a token that
lives longer than EARPIECE_OIDC_MAX_TOKEN_SECONDS is refused."""

from __future__ import annotations

import time

from tests.access.test_authorization import floor, issuer  # noqa: F401 (fixtures)
from tests.conftest import Wired
from tests.oidc_issuer import Issuer

ANA = "ana@demo.earpiece.example"


def who_joins(wired: Wired, token: str) -> tuple[int, str | None]:
    """The status of a listen with `token`, and who the service says joined."""
    sid = wired.new_call("bob")["conference_sid"]
    with wired.service.client(token) as http:
        answer = http.post(f"/api/conferences/{sid}/monitors", json={"mode": "listen"})
    return answer.status_code, (answer.json().get("supervisor") if answer.is_success else None)


def status(wired: Wired, token: str) -> int:
    with wired.service.client(token) as http:
        return http.get("/api/conferences").status_code


def test_an_unverified_email_signs_nobody_in(floor: Wired, issuer: Issuer) -> None:
    assert status(floor, issuer.token(ANA, sub="00u-ana", email_verified=False)) == 401
    assert status(floor, issuer.token(ANA, sub="00u-ana", email_verified=None)) == 401
    assert status(floor, issuer.token(ANA, sub="00u-ana", email_verified="false")) == 401
    # Refused first does not bind: once verified, the same account is ana.
    assert who_joins(floor, issuer.token(ANA, sub="00u-ana")) == (201, "ana")


def test_a_token_living_longer_than_the_cap_is_refused(floor: Wired, issuer: Issuer) -> None:
    now = int(time.time())
    cap = floor.service.settings.oidc_max_token_seconds if floor.service.settings else 0
    assert cap == 7200
    far = now + 1000 * 365 * 86400  # a thousand years from now
    assert status(floor, issuer.token(ANA, exp=far)) == 401
    assert status(floor, issuer.token(ANA, exp=now + int(cap) + 3600)) == 401
    assert status(floor, issuer.token(ANA, iat=None)) == 401  # no iat: its life unknown
    assert status(floor, issuer.token(ANA, iat=now + 3600, exp=now + 3900)) == 401  # future
    assert status(floor, issuer.token(ANA, iat=now - 60, exp=now + int(cap) - 120)) == 200


def test_a_changed_email_still_maps_to_the_same_person_by_sub(
    floor: Wired,
    issuer: Issuer,
) -> None:
    assert who_joins(floor, issuer.token(ANA, sub="00u-ana-1")) == (201, "ana")
    # The provider's account changed its email (a new name, a new domain; in Japanese too):
    # the sub still says ana.
    for email in ("ana.ito@new.example", "伊藤アナ@例え.jp"):
        assert who_joins(floor, issuer.token(email, sub="00u-ana-1")) == (201, "ana")
    # Another account of the issuer that now carries ana's email is not ana.
    assert status(floor, issuer.token(ANA, sub="00u-someone-else")) == 401


def test_the_sign_in_form_says_why_a_provider_identity_names_nobody() -> None:
    from dashboard.sso import refusal

    unverified = refusal({"email": "伊藤アナ@例え.jp", "email_verified": False})
    assert unverified.startswith("伊藤アナ@例え.jp") and "not verified" in unverified
    stranger = refusal({"email": "zed@example.com", "email_verified": True})
    assert stranger == "zed@example.com is not a supervisor on the roster."


def test_a_new_account_at_the_provider_is_bound_after_oidc_unbind(
    floor: Wired, issuer: Issuer
) -> None:
    from tests.access.test_signin import ENV, earpiece
    from tests.oidc_issuer import AUDIENCE

    assert who_joins(floor, issuer.token(ANA, sub="00u-ana-old")) == (201, "ana")
    # The provider gave ana a new account: refused until the old binding is forgotten.
    assert status(floor, issuer.token(ANA, sub="00u-ana-new")) == 401
    settings = floor.service.settings
    assert settings is not None and settings.redis_url is not None
    env = {**ENV, "REDIS_URL": settings.redis_url, "EARPIECE_NAMESPACE": settings.namespace,
           "EARPIECE_DEMO": "true", "EARPIECE_OIDC_ISSUER": issuer.url,
           "EARPIECE_OIDC_AUDIENCE": AUDIENCE}  # fmt: skip
    done = earpiece("oidc-unbind", "ana", **env)
    assert done.returncode == 0, done.stderr
    assert "forgotten" in done.stdout
    assert who_joins(floor, issuer.token(ANA, sub="00u-ana-new")) == (201, "ana")
    assert status(floor, issuer.token(ANA, sub="00u-ana-old")) == 401  # the old one is not
    again = earpiece("oidc-unbind", "ken", **env)  # never bound
    assert again.returncode == 2 and again.stderr.count("\n") == 1, again.stderr
    with floor.api("mina") as http:
        entries = http.get("/api/audit", params={"supervisor": "ana"}).json()["entries"]
    assert any(e["action"] == "oidc-unbound" for e in entries)
