"""The webhook's form parser gives what the standard library's parse_qsl gives."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callbacks.forms import parse_form

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


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
