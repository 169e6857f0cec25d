"""The floor's clock: times as a person on the floor reads them, days as the floor counts them.

The API and the streams keep UTC ISO 8601 (core/times.py: stable codes a program
reads); everything a person reads goes through here, in the floor's time zone
(EARPIECE_TIMEZONE) and the reader's language (a supervisor's roster `language`,
else EARPIECE_LANGUAGE). Babel formats: it carries CLDR's patterns for every
language, so `ja` reads `2026/12/02 10:23:41 JST` and `en` `Dec 2, 2026, 10:23:41 AM`
without a pattern of ours, and the catalogues of issue 25 part 1 (gettext, also
Babel) will sit beside it. Every function takes the locale as an argument: nothing
here reads a setting or a session.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time

from core import times

LANGUAGES = ("en", "ja")


def _moment(at: str | int | float | None) -> datetime | None:
    """An ISO 8601 stamp (as the API writes it) or epoch milliseconds, as an aware time."""
    if at is None or at == "":
        return None
    if isinstance(at, int | float):
        return datetime.fromtimestamp(at / 1000, tz=UTC)
    try:
        return times.moment(at)
    except ValueError:
        return None


@functools.lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True)
class FloorClock:
    """A floor's time zone; `language` is the reader's ("en" or "ja")."""

    timezone: str = "UTC"
    language: str = "en"

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone)

    def for_reader(self, language: str | None) -> FloorClock:
        return FloorClock(self.timezone, language or self.language)

    def when(self, at: str | int | float | None) -> str:
        """Date and time to the second with the zone: `2026/12/02 10:23:41 JST`."""
        moment = _moment(at)
        if moment is None:
            return ""
        pattern = (
            "yyyy/MM/dd HH:mm:ss zzz" if self.language == "ja" else "MMM d, yyyy, HH:mm:ss zzz"
        )
        return format_datetime(moment, pattern, tzinfo=self.tz, locale=self.language)

    def time_of_day(self, at: str | int | float | None, with_zone: bool = False) -> str:
        """`10:23:41` (24-hour: a floor's log reads that way in both languages)."""
        moment = _moment(at)
        if moment is None:
            return ""
        pattern = "HH:mm:ss zzz" if with_zone else "HH:mm:ss"
        return format_time(moment, pattern, tzinfo=self.tz, locale=self.language)

    def day(self, at: str | int | float | None) -> str:
        moment = _moment(at)
        if moment is None:
            return ""
        return format_date(moment.astimezone(self.tz).date(), "medium", locale=self.language)

    def zone_label(self, at_ms: int | float | None = None) -> str:
        """The zone's short name as this language writes it (`JST`, `UTC`, `GMT+9`)."""
        moment = _moment(at_ms) or datetime.now(UTC)
        return format_time(moment, "zzz", tzinfo=self.tz, locale=self.language)

    def today(self, now_ms: int | float | None = None) -> date:
        moment = _moment(now_ms) or datetime.now(UTC)
        return moment.astimezone(self.tz).date()

    def day_start_ms(self, day: date) -> int:
        """The first millisecond of `day` on the floor (its midnight in the floor's zone)."""
        return times.day_bounds(day.isoformat(), self.tz)[0]

    def day_end_ms(self, day: date) -> int:
        """The last millisecond of `day` on the floor (the next midnight, less one)."""
        return times.day_bounds(day.isoformat(), self.tz)[1] - 1

    def local_iso(self, at: str | int | float | None) -> str:
        """ISO 8601 with the floor's offset (`2026-12-02T10:23:41+09:00`): what a CSV export
        adds beside its UTC column, so a spreadsheet on the floor reads its own clock."""
        moment = _moment(at)
        return moment.astimezone(self.tz).isoformat(timespec="seconds") if moment else ""

    def read_ms(self, raw: str, end: bool = False) -> int:
        """`read` as epoch ms; with `end`, a bare date is its LAST millisecond on the floor
        (`to=2026-12-02` includes the whole of that day)."""
        if end and len(raw) == 10:
            return self.day_end_ms(date.fromisoformat(raw))
        return int(self.read(raw).timestamp() * 1000)

    def read(self, raw: str) -> datetime:
        """An ISO 8601 date or time as the API's filters take it: one without an offset
        (`2026-12-02`, `2026-12-02T09:00`) is the floor's, one with an offset is as written.
        A bare date is its first moment on the floor. Raises ValueError when it is neither."""
        return times.moment(raw, self.tz)
