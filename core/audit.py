"""The audit trail: every supervisor join, mode switch and leave, kept for a retention period.

QA and compliance must be able to answer "who listened to this call". Each
entry is appended to a Redis Stream under the floor's hash tag, trimmed by
age (MINID) rather than by count, so the retention is a time.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.floor_clock import FloorClock
from core.keys import Keys
from core.redis_client import AsyncRedis
from core.times import iso, now_ms
from core.times import text as _text

FIELDS = (
    "at",
    "action",
    "supervisor",
    "conference_sid",
    "friendly_name",
    "agent",
    "mode",
    "from_mode",
    "outcome",
    "detail",
    "call_sid",
)
SCAN_BATCH = 500


@dataclass(frozen=True)
class AuditFilter:
    supervisor: str | None = None
    agent: str | None = None
    conference_sid: str | None = None
    since_ms: int | None = None
    limit: int = 500
    # What the reader may see (a lead: their own actions and their teams' calls).
    visible: Callable[[dict[str, Any]], bool] | None = None

    def matches(self, entry: dict[str, Any]) -> bool:
        return (
            (self.visible is None or self.visible(entry))
            and (self.supervisor is None or entry["supervisor"] == self.supervisor)
            and (self.agent is None or entry["agent"] == self.agent)
            and (self.conference_sid is None or entry["conference_sid"] == self.conference_sid)
        )


class Audit:
    def __init__(self, redis: AsyncRedis, keys: Keys, retention_days: int) -> None:
        self.redis = redis
        self.key = keys.audit
        self.retention_ms = retention_days * 86_400_000

    async def record(
        self,
        action: str,
        supervisor: str,
        conference_sid: str,
        *,
        outcome: str = "ok",
        mode: str = "",
        from_mode: str = "",
        agent: str = "",
        friendly_name: str = "",
        detail: str = "",
        call_sid: str = "",
    ) -> None:
        now = now_ms()
        entry: dict[Any, Any] = {
            "action": action,
            "supervisor": supervisor,
            "conference_sid": conference_sid,
            "friendly_name": friendly_name,
            "agent": agent or "",
            "mode": mode,
            "from_mode": from_mode,
            "outcome": outcome,
            "detail": detail,
            "call_sid": call_sid,
        }
        await self.redis.xadd(
            self.key,
            entry,
            minid=str(now - self.retention_ms),
            approximate=True,
        )

    async def entries(self, which: AuditFilter) -> list[dict[str, Any]]:
        """Matching entries, newest first."""
        out: list[dict[str, Any]] = []
        low = f"{which.since_ms}-0" if which.since_ms is not None else "-"
        high = "+"
        while len(out) < which.limit:
            rows: Any = await self.redis.xrevrange(self.key, max=high, min=low, count=SCAN_BATCH)
            if not rows:
                break
            for raw_id, fields in rows:
                entry = _entry(raw_id, fields)
                if which.matches(entry):
                    out.append(entry)
                    if len(out) == which.limit:
                        break
            if len(rows) < SCAN_BATCH:
                break
            high = f"({_text(rows[-1][0])}"
        return out


def _entry(raw_id: bytes | str, fields: dict[bytes, bytes]) -> dict[str, Any]:
    stream_id = _text(raw_id)
    entry: dict[str, Any] = {"id": stream_id, "at": iso(int(stream_id.split("-")[0]))}
    for name in FIELDS[1:]:
        entry[name] = _text(fields.get(name.encode(), b""))
    return entry


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, "CSV
# Injection"): a card's text or a name starting with "=HYPERLINK(" would be a link.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: a leading formula character is quoted.

    Spreadsheets skip what comes before the formula character (a space, a no-break space,
    a newline, an invisible format character) and read full-width signs as their ASCII
    selves (U+FF1D "=" is "="), so the first character that shows is judged, folded by NFKC
    (issue 22)."""
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(FORMULA_STARTS):
        return "'" + value
    for ch in value:
        if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp"):
            continue
        if unicodedata.normalize("NFKC", ch).startswith(FORMULA_STARTS):
            return "'" + value
        break
    return value


def to_csv(entries: list[dict[str, Any]], timezone: str = "UTC") -> str:
    """The audit as CSV, one row an entry (the API's audit.csv and the dashboard's download),
    ending with `at_local`: `at` on the floor's clock (EARPIECE_TIMEZONE), with its offset."""
    floor = FloorClock(timezone)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["id", *FIELDS, "at_local"], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(
        {**{k: cell(v) for k, v in entry.items()}, "at_local": floor.local_iso(entry.get("at"))}
        for entry in entries
    )
    return out.getvalue()
