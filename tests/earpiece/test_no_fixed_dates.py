"""No test may depend on today's date (issue 21).

The suite once posted a transcription callback dated 2026-11-27; the service
refuses a Timestamp more than a day from now, so on 2026-11-28 main's CI failed
with the wrong 400. This lint fails on any literal calendar date (ISO 8601 or
RFC 2822, years 2020-2099) in a test module, and on any number written in the
code that reads as a moment of those years in epoch seconds or milliseconds
(two modules held their day as epoch milliseconds, which the first lint did
not see): a test dates what it posts relative to now. An absurd date that a test
means (year 9999, 1970) stays out of that range and is not caught; a number in
a string (a card number, a digit count) is not a number of the code.
"""

from __future__ import annotations

import io
import re
import tokenize
from datetime import UTC, datetime
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
LITERAL_DATE = re.compile(
    r"20[2-9][0-9]-[01][0-9]-[0-3][0-9]"  # 2026-11-27, 2026-11-27T10:00:00Z
    r"|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{1,2} [A-Z][a-z]{2} 20[2-9][0-9]"  # RFC 2822
)


# 2020-01-01 and 2100-01-01, in epoch seconds: the years the text forms above catch.
FIRST, LAST = 1_577_836_800, 4_102_444_800


def epoch_dates(text: str) -> list[str]:
    """The integer literals of Python source that read as a moment of 2020-2099, in epoch
    seconds or milliseconds, each as the number written and the day it names."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type != tokenize.NUMBER or not token.string.replace("_", "").isdigit():
            continue
        value = int(token.string.replace("_", ""))
        for seconds in (value, value / 1000):
            if FIRST <= seconds < LAST:
                day = datetime.fromtimestamp(seconds, UTC).date().isoformat()
                found.append(f"{token.string} ({day})")
                break
    return found


def literal_dates(text: str) -> list[str]:
    return [match.group(0) for match in LITERAL_DATE.finditer(text)] + epoch_dates(text)


def test_the_lint_sees_the_forms_that_broke_ci() -> None:
    assert literal_dates('"Timestamp": "2026-11-27T10:00:00.000Z"') == ["2026-11-27"]
    assert literal_dates("Fri, 27 Nov 2026 10:00:00 +0000") == ["Fri, 27 Nov 2026"]
    assert literal_dates("9999-01-01T00:00:00Z and 1970-01-01") == []
    # The form that hid from it: a day as epoch milliseconds or seconds, in the code.
    assert literal_dates("T0_MS = 1_764_000_000_000") == ["1_764_000_000_000 (2025-11-24)"]
    assert literal_dates("at = 1764000000") == ["1764000000 (2025-11-24)"]
    assert literal_dates('said = "3430109903"; limit = 2**31; n = 250') == []


def test_no_test_module_holds_a_literal_date() -> None:
    found = {
        str(path.relative_to(TESTS)): dates
        for path in sorted(TESTS.rglob("*.py"))
        if path.name != Path(__file__).name and (dates := literal_dates(path.read_text("utf-8")))
    }
    assert found == {}, f"date these relative to now: {found}"
