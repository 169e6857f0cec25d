"""No test may depend on today's date (issue 21).

The suite once posted a transcription callback dated 2026-11-27; the service
refuses a Timestamp more than a day from now, so on 2026-11-28 main's CI failed
with the wrong 400. This lint fails on any literal calendar date (ISO 8601 or
RFC 2822, years 2020-2099) in a test module: a test dates what it posts
relative to now. An absurd date that a test means (year 9999, 1970) stays out
of that range and is not caught.
"""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
LITERAL_DATE = re.compile(
    r"20[2-9][0-9]-[01][0-9]-[0-3][0-9]"  # 2026-11-27, 2026-11-27T10:00:00Z
    r"|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{1,2} [A-Z][a-z]{2} 20[2-9][0-9]"  # RFC 2822
)


def literal_dates(text: str) -> list[str]:
    return [match.group(0) for match in LITERAL_DATE.finditer(text)]


def test_the_lint_sees_the_forms_that_broke_ci() -> None:
    assert literal_dates('"Timestamp": "2026-11-27T10:00:00.000Z"') == ["2026-11-27"]
    assert literal_dates("Fri, 27 Nov 2026 10:00:00 +0000") == ["Fri, 27 Nov 2026"]
    assert literal_dates("9999-01-01T00:00:00Z and 1970-01-01") == []


def test_no_test_module_holds_a_literal_date() -> None:
    found = {
        str(path.relative_to(TESTS)): dates
        for path in sorted(TESTS.rglob("*.py"))
        if path.name != Path(__file__).name and (dates := literal_dates(path.read_text("utf-8")))
    }
    assert found == {}, f"date these relative to now: {found}"
