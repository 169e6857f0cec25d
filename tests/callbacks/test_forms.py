"""The webhook's form parser gives what the standard library's parse_qsl gives."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote_plus, unquote_plus, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callbacks.forms import parse_form, unquote_value

text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)


@given(st.lists(st.tuples(text.filter(bool), text), max_size=15))
def test_same_pairs_as_parse_qsl(pairs: list[tuple[str, str]]) -> None:
    body = urlencode(pairs)
    assert parse_form(body.encode()) == parse_qsl(body, keep_blank_values=True)


@given(st.text(alphabet="ab=&%+2C0F", max_size=30))
def test_same_pairs_as_parse_qsl_on_odd_bodies(body: str) -> None:
    assert parse_form(body.encode()) == parse_qsl(body, keep_blank_values=True)


def test_a_body_that_is_not_utf8_raises() -> None:
    with pytest.raises(UnicodeDecodeError):
        parse_form(b"\xff=1")


# Escapes, broken escapes, backslashes (what the fast path rewrites), and raw characters.
odd = st.text(alphabet="%+\\xXaE3829fF0C5u\u00e9\u30af\u89e3 ", max_size=40)


@given(odd)
def test_a_value_unquotes_as_unquote_plus_does(value: str) -> None:
    assert unquote_value(value) == unquote_plus(value)


@given(text)
def test_an_encoded_value_comes_back_whole(value: str) -> None:
    assert unquote_value(quote_plus(value)) == value


@pytest.mark.parametrize(
    "value",
    [
        "%E3%82%AF%E3%83%AC%E3%83%BC%E3%83%A0",  # クレーム
        "%7B%22transcript%22%3A+%22%5Cu30af%5Cu30ec%22%7D",  # JSON that writes \\uXXXX
        "%E3%82",  # a character cut short: U+FFFD, as unquote_plus gives
        "%E3%82\u30a2",  # ... and then a raw one
        "\\x41%41",  # a backslash that is text
        "100%",  # a % that is not an escape
        "%zz%41",
    ],
)
def test_japanese_and_broken_values_unquote_as_unquote_plus_does(value: str) -> None:
    assert unquote_value(value) == unquote_plus(value)
