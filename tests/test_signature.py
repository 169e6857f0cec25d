"""Twilio's webhook signature, checked against Twilio's published vector and its own SDK."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from callbacks.signature import SignatureChecker, compute

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
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12),
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40),
        max_size=12,
    )
)
def test_same_signature_as_twilio_sdk(params: dict[str, str]) -> None:
    url = "https://earpiece.example.com/twilio/conference-events?a=b"
    expected = RequestValidator("secret").compute_signature(url, params)
    assert compute(b"secret", url, params.items()) == expected
