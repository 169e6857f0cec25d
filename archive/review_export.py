"""QA reviews as CSV: one row a review, one column a criterion (the API's export and the
dashboard's download write the same file, from here)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from archive.store import Json
from core.audit import cell
from core.floor_clock import FloorClock

REVIEW_FIELDS = ("id", "at", "conference_sid", "agent", "team", "reviewer", "score", "notes")


def mark(value: Any, given: bool = True) -> str:
    """A criterion's cell: pass, fail, n/a (marked not applicable), or empty (not marked)."""
    if not given:
        return ""
    return "pass" if value is True else "fail" if value is False else "n/a"


def reviews_csv(rows: list[Json], timezone: str = "UTC", criteria: Sequence[str] = ()) -> str:
    """Reviews as CSV, one row a review and one column a criterion, then `at_local` (`at` on
    the floor's clock, with its offset); a cell a spreadsheet would run as a formula is
    quoted (core/audit.py cell).

    `criteria`: the columns every export of these teams has, in the roster's order, whether
    or not a review marked them (a QA trial found the columns moving from one export to the
    next: only criteria someone had marked, in code point order); a criterion a review
    marked that the roster no longer has follows them."""
    marked = {name for r in rows for name in r.get("criteria") or {}}
    columns = list(dict.fromkeys(criteria))
    criteria = columns + sorted(marked - set(columns))
    floor = FloorClock(timezone)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*REVIEW_FIELDS, *criteria, "at_local"])
    for r in rows:
        marks = r.get("criteria") or {}
        writer.writerow(
            [cell(r.get(f)) for f in REVIEW_FIELDS]
            + [cell(mark(marks.get(c), c in marks)) for c in criteria]
            + [floor.local_iso(r.get("at"))]
        )
    return out.getvalue()
