"""The audit trail: every supervisor join, mode switch and leave, kept for a retention period.

QA and compliance must be able to answer "who listened to this call". Each
entry is appended to a Redis Stream under the floor's hash tag, trimmed by
age (MINID) rather than by count, so the retention is a time.

Each entry about a conference is also indexed by it (a list of its stream ids, kept as
long as the stream keeps entries), in the same script as the entry itself. A call's
entries were found by scanning the whole stream from the call's start (the archive, for
every ended call) or from the newest back to the oldest kept (the call page, on every
rerun): 6.5 us of CPU an entry scanned, so 130 ms a call with 20,000 entries in its
window (issue 29: a 10,000-call floor ends ~33 calls a second). Measured on 20,000 entries
about 400 calls, one call's 50: scanning 79-124 ms of CPU, the index 1.2 ms. Entries
written before the index began (`audit_indexed`: when) are still found by scanning.
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


# The entry, its conference's index and the time the index began, in one step. The index
# began at its first entry's id (Redis's clock, as every id is), so an entry older than
# that time is one the index does not hold.
# KEYS: the stream, the index-began marker[, the conference's index]
# ARGV: MINID, the index's expiry (s), then the entry's fields and values
RECORD_LUA = """
local id = redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[1], '*', unpack(ARGV, 3))
redis.call('SET', KEYS[2], string.match(id, '^(%d+)'), 'NX')
if KEYS[3] then
  redis.call('RPUSH', KEYS[3], id)
  redis.call('EXPIRE', KEYS[3], ARGV[2])
end
return id
"""


class Audit:
    def __init__(self, redis: AsyncRedis, keys: Keys, retention_days: int) -> None:
        self.redis = redis
        self.keys = keys
        self.key = keys.audit
        self.retention_ms = retention_days * 86_400_000
        self._record = redis.register_script(RECORD_LUA)

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
        keys = [self.key, self.keys.audit_indexed]
        if conference_sid:
            keys.append(self.keys.audit_of(conference_sid))
        flat = [item for pair in entry.items() for item in pair]
        await self._record(
            keys=keys,
            args=[str(now - self.retention_ms), max(1, self.retention_ms // 1000), *flat],
        )

    async def entries(self, which: AuditFilter) -> list[dict[str, Any]]:
        """Matching entries, newest first."""
        if which.conference_sid:
            indexed = await self._indexed(which.conference_sid, which.since_ms)
            if indexed is not None:
                since = which.since_ms or 0
                kept = [
                    e for e in indexed
                    if int(e["id"].split("-")[0]) >= since and which.matches(e)
                ]  # fmt: skip
                return kept[: which.limit]
        return await self._scan(which)

    async def _indexed(self, sid: str, since_ms: int | None) -> list[dict[str, Any]] | None:
        """The conference's entries from its index, newest first (the caller filters them);
        None when the index may not hold them all (`since_ms` before
        the index began, or not given and the index began after the stream's oldest entry)."""
        # One round trip for what decides it (the call page asks on every rerun).
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(self.keys.audit_indexed)
        pipe.lrange(self.keys.audit_of(sid), 0, -1)
        pipe.xrange(self.key, count=1)
        began_raw, ids, oldest = await pipe.execute()
        if began_raw is None:
            return None
        began = int(began_raw)
        if since_ms is None:
            if oldest and int(_text(oldest[0][0]).split("-")[0]) < began:
                return None  # entries older than the index are kept: they are not in it
        elif since_ms < began:
            return None
        if not ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for raw_id in ids:
            stream_id = _text(raw_id)
            pipe.xrange(self.key, min=stream_id, max=stream_id, count=1)
        found = []
        for rows in await pipe.execute():
            for raw_id, fields in rows or ():  # gone: trimmed with the retention
                found.append(_entry(raw_id, fields))
        found.reverse()  # appended oldest first
        return found

    async def _scan(self, which: AuditFilter) -> list[dict[str, Any]]:
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
