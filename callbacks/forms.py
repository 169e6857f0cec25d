"""A form-urlencoded body as (name, value) pairs, cheaply.

Same result as `urllib.parse.parse_qsl(text, keep_blank_values=True)`, but a
part is unquoted only when it holds `%` or `+`: most of a Twilio callback's
parameters (SIDs, true/false, event names) need nothing, and this runs on
every webhook.

A value that does hold escapes is decoded in C (`codecs.escape_decode`, each
`%XX` turned into the `\\xXX` it means) rather than by `unquote_plus`, which
walks the escapes one by one in Python: a Japanese transcript line is mostly
escapes (three per character, more when its JSON writes `\\uXXXX`), and this
was a tenth of a Japanese transcription callback's cost (issue 23's profile).
A value with a `%` that is not an escape goes to `unquote_plus`, which keeps it
as written; tests/callbacks/test_forms.py holds the two to the same answers.
"""

from __future__ import annotations

import codecs
from urllib.parse import unquote_plus


def unquote_value(value: str) -> str:
    """`urllib.parse.unquote_plus(value)`, the same text, in C where it can."""
    value = value.replace("+", " ")
    if "%" not in value:
        return value
    # Every backslash doubled first, so the only escapes escape_decode sees are the
    # `\xXX` made here; a `%` without two hex digits after it is a ValueError: the
    # slow path, which leaves such a `%` as it is.
    try:
        raw = codecs.escape_decode(value.replace("\\", "\\\\").replace("%", "\\x").encode())[0]
    except ValueError:
        return unquote_plus(value)
    # As unquote_plus: undecodable bytes become U+FFFD (a literal character's UTF-8 starts
    # with a lead byte, so it ends a broken sequence here just as unquote's chunks do).
    return raw.decode("utf-8", "replace")


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """Raise UnicodeDecodeError for a body that is not UTF-8."""
    pairs: list[tuple[str, str]] = []
    for part in body.decode("utf-8").split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in name or "+" in name:
            name = unquote_value(name)
        if "%" in value or "+" in value:
            value = unquote_value(value)
        pairs.append((name, value))
    return pairs
