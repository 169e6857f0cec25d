"""Twilio's webhook signature, checked against Twilio's published vector and its own SDK."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from callbacks.signature import SignatureChecker, compute
from core.redis_client import RedisTarget
from core.settings import Settings

VECTOR_URL = "https://example.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {
    "Digits": "1234",
    "To": "+18005551212",
    "From": "+14158675310",
    "Caller": "+14158675310",
    "CallSid": "CA1234567890ABCDE",
}
VECTOR_SIGNATURE = "L/OH5YylLD5NRKLltdqwSvS0BnU="


def test_twilio_published_vector() -> None:
    assert compute(b"12345", VECTOR_URL, VECTOR_PARAMS.items()) == VECTOR_SIGNATURE


def test_checker_accepts_vector_and_rejects_a_changed_parameter() -> None:
    checker = SignatureChecker("12345", "https://example.com")
    pairs = list(VECTOR_PARAMS.items())
    assert checker.valid("/myapp.php", "foo=1&bar=2", pairs, VECTOR_SIGNATURE)
    tampered = [*pairs[:-1], ("CallSid", "CA1234567890ABCDF")]
    assert not checker.valid("/myapp.php", "foo=1&bar=2", tampered, VECTOR_SIGNATURE)
    assert not checker.valid("/myapp.php", "foo=1", pairs, VECTOR_SIGNATURE)
    assert not checker.valid("/myapp.php", "foo=1&bar=2", pairs, "")


def test_port_is_optional_over_https() -> None:
    """Twilio may sign https URLs with or without :443; both must pass."""
    with_port = RequestValidator("tok").compute_signature("https://h.example:443/x", {"A": "1"})
    without = RequestValidator("tok").compute_signature("https://h.example/x", {"A": "1"})
    assert SignatureChecker("tok", "https://h.example").valid("/x", "", [("A", "1")], with_port)
    assert SignatureChecker("tok", "https://h.example:443").valid("/x", "", [("A", "1")], without)


@given(
    st.dictionaries(
        st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12),
        st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40),
        max_size=12,
    )
)
def test_same_signature_as_twilio_sdk(params: dict[str, str]) -> None:
    url = "https://earpiece.example.com/twilio/conference-events?a=b"
    expected = RequestValidator("secret").compute_signature(url, params)
    assert compute(b"secret", url, params.items()) == expected


def test_a_signature_with_or_without_the_overrides_fragment_is_accepted() -> None:
    """The connection-overrides fragment is after the query string and never sent; Twilio's
    pages do not say whether the signature covers it, so both forms are accepted, for the
    fragment the service put on its own URLs only (and with or without the port)."""
    overrides = "#rc=3&rp=5xx,ct,rt"
    checker = SignatureChecker("tok", "https://h.example", fragments=(overrides,))
    url = "https://h.example/twilio/conference-events"
    params = {"ConferenceSid": "CF" + "0" * 32}
    pairs = list(params.items())
    sign = RequestValidator("tok").compute_signature
    for signed in (url, url + overrides, "https://h.example:443/twilio/conference-events"
                   + overrides):  # fmt: skip
        assert checker.valid("/twilio/conference-events", "", pairs, sign(signed, params)), signed
    # Another fragment, or the right one under another token, is still refused.
    assert not checker.valid("/twilio/conference-events", "", pairs, sign(url + "#rc=5", params))
    forged = RequestValidator("other").compute_signature(url + overrides, params)
    assert not checker.valid("/twilio/conference-events", "", pairs, forged)


def test_the_service_accepts_callbacks_signed_over_its_own_overrides_fragment(
    settings: Settings, redis_target: RedisTarget
) -> None:
    """Through the service: its conference-events URL carries CONNECTION_OVERRIDES, and a
    callback signed over the URL with that fragment is applied, not refused."""
    from starlette.testclient import TestClient

    from core.twilio_client import CONNECTION_OVERRIDES
    from earpiece.service import create_app
    from tests.helpers import Conference

    path = "/twilio/conference-events"
    url = (settings.public_base_url or "") + path
    params = Conference().event("conference-start")
    signature = RequestValidator(settings.auth_token).compute_signature(
        url + CONNECTION_OVERRIDES, params
    )
    with TestClient(
        create_app(settings, redis_target), base_url=settings.public_base_url or ""
    ) as c:
        answer = c.post(path, data=params, headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 204, answer.text


def test_shared_key_signatures_are_checked_with_that_key_and_algorithm() -> None:
    """A Webhook Rule's SharedKey (public beta): HMAC-SHA256 with the key's secret, named in
    X-Twilio-Webhooks-Signature-Settings; twilio-python signs the same way."""
    checker = SignatureChecker("auth-token", "https://h.example", {"webhooks_sharedkey_1": "s3"})
    url, params = "https://h.example/x?y=1", {"A": "1", "B": "2"}
    pairs = list(params.items())
    sha256 = RequestValidator("s3").compute_signature(url, params, "HMAC_SHA256")
    header = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    assert checker.valid("/x", "y=1", pairs, sha256, header)
    assert not checker.valid("/x", "y=1", pairs, sha256)  # not the auth token's
    assert not checker.valid("/x", "y=1", pairs, sha256, "key=other,algorithm=HMAC_SHA256")
    assert not checker.valid("/x", "y=1", pairs, sha256, "key=webhooks_sharedkey_1,algorithm=MD5")
    sha1 = RequestValidator("s3").compute_signature(url, params, "HMAC_SHA1")
    assert checker.valid("/x", "y=1", pairs, sha1, "key=webhooks_sharedkey_1,algorithm=HMAC_SHA1")
    token = RequestValidator("auth-token").compute_signature(url, params)
    assert checker.valid("/x", "y=1", pairs, token)  # no header: the auth token, as always
