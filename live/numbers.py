"""Numbers in signed callbacks, read strictly and bounded (issue 21 §3).

A signed callback still carries whatever its sender put in it, and Python's own
`int()` and `float()` accept far more than Twilio ever sends: `float("inf")`,
`float("1e400")` (infinity, which `int()` then refuses with OverflowError: a 500),
`int()` of full-width digits, `int("1_000")`, `" 7 "`, and integers of any
size (`10**30` then breaks the JSON encoder or reaches Redis as a register no
reader can use). Every number a webhook reads goes through here instead: plain
ASCII digits (an optional sign, an optional short fraction), at most 20 of them,
then a range the field can really have. Anything else is `BadEvent` naming the
field, which the webhook answers 400 with that reason.

Hand-written rather than a library: it is one regular expression and a range,
on the hot path of every callback; a validation library would add a model per
webhook for four numbers and cost more per call than the parse it guards.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from core.times import ms_of
from live.events import BadEvent

# ASCII only ([0-9], not \d, which matches every script's digits); no exponent, no
# underscores, no spaces, no inf/nan.
_NUMBER = re.compile(r"[+-]?[0-9]{1,20}(?:\.[0-9]{1,9})?")
# The largest integer a browser's JSON parser holds exactly (the board is drawn there).
SAFE_INTEGER = 2**53 - 1


_DIGITS = re.compile(r"[0-9]{1,20}")


def plain_int(raw: str, max_digits: int = 20) -> int | None:
    """`raw` as a whole number when it is ASCII digits only, at most `max_digits` of them;
    None for anything else. The one test for a count in a query or a callback:
    `str.isdigit()` also passes "²" (which `int()` refuses) and a run of 5,000 digits
    (which `int()` refuses too, past Python's 4,300-digit limit): both were 500s."""
    if len(raw) > max_digits or _DIGITS.fullmatch(raw) is None:
        return None
    return int(raw)


def _shown(raw: str) -> str:
    return repr(raw[:20] + ("…" if len(raw) > 20 else ""))


def number(params: Mapping[str, str], name: str, low: float, high: float) -> float | None:
    """The field as a number in [low, high]; None when absent or empty; BadEvent otherwise."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if _NUMBER.fullmatch(raw) is None:
        raise BadEvent(f"{name} is not a plain number: {_shown(raw)}")
    value = float(raw)
    if not low <= value <= high:
        raise BadEvent(f"{name} {_shown(raw)} is out of range {low:g}..{high:g}")
    return value


def whole(params: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    """The field as a whole number in [low, high] (a fraction is cut off, as Twilio's
    seconds may carry one); None when absent or empty; BadEvent otherwise."""
    value = number(params, name, low, high)
    return None if value is None else int(value)


def instant_s(
    params: Mapping[str, str], name: str, now_ms: int, before_s: float, after_s: float
) -> int | None:
    """A moment in epoch seconds: a plain number of seconds, or an ISO 8601 date (what
    Twilio's TaskRouter sends for TaskQueueEnteredDate and TaskDateCreated:
    https://twilio.com/en-us/changelog/increased-timestamp-precision-in-taskrouter-).
    Refused unless within `before_s` before now and `after_s` after it."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    now_s = now_ms / 1000
    if _NUMBER.fullmatch(raw) is not None:
        seconds = float(raw)
    else:
        try:
            seconds = ms_of(raw) / 1000
        except (ValueError, OverflowError):
            raise BadEvent(
                f"{name} is neither seconds nor an ISO 8601 date: {_shown(raw)}"
            ) from None
    if not now_s - before_s <= seconds <= now_s + after_s:
        raise BadEvent(f"{name} {_shown(raw)} is not a time near now")
    return int(seconds)
