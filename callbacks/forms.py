"""A form-urlencoded body as (name, value) pairs, cheaply.

Same result as `urllib.parse.parse_qsl(text, keep_blank_values=True)`, but a
part is unquoted only when it holds `%` or `+`: most of a Twilio callback's
parameters (SIDs, true/false, event names) need nothing, and this runs on
every webhook.
"""

from __future__ import annotations

from urllib.parse import unquote_plus


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """Raise UnicodeDecodeError for a body that is not UTF-8."""
    pairs: list[tuple[str, str]] = []
    for part in body.decode("utf-8").split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        pairs.append((name, value))
    return pairs
