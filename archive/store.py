"""The archive's store: ended calls, searchable, and their QA reviews.

One interface, `Store`; `open_store` picks the backend from EARPIECE_ARCHIVE_URL:
unset or `sqlite:///path`, SQLite in EARPIECE_DATA_DIR (archive/sqlite_store.py:
embedded, started by nothing, FTS5 for the words); `postgresql://…`, a PostgreSQL
server (archive/postgres_store.py) for a floor whose processes run on several
machines. ARCHITECTURE.md says why these two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from archive.record import CallRecord
from archive.words import query_phrases

Json = dict[str, Any]
MAX_PAGE = 200
MAX_QUERY_CHARS = 200


@dataclass(frozen=True)
class Search:
    """GET /api/history's filters (CONTRACT.md, "History"), and what the reader may see."""

    since_ms: int | None = None
    until_ms: int | None = None
    team: str | None = None
    queue: str | None = None
    agent: str | None = None
    q: str | None = None  # words said, searched as a phrase
    alert: str | None = None
    monitored: bool | None = None
    reviewed: bool | None = None
    min_seconds: int | None = None
    max_seconds: int | None = None
    teams: tuple[str, ...] | None = None  # None: every team; a lead: their own teams only
    cursor: int | None = None  # the last row's place: the next page is older
    limit: int = 50


@dataclass(frozen=True)
class Review:
    sid: str
    reviewer: str
    score: float
    notes: str
    criteria: dict[str, Any]
    agent: str | None = None
    team: str | None = None
    at_ms: int = 0


@dataclass(frozen=True)
class ReviewSearch:
    agent: str | None = None
    team: str | None = None
    reviewer: str | None = None
    sid: str | None = None
    teams: tuple[str, ...] | None = None
    limit: int = 500


class Store(Protocol):
    async def put(self, record: CallRecord) -> bool:
        """Write an ended call once: False when it was already there (a repeat changes nothing)."""

    async def put_all(self, records: list[CallRecord]) -> list[bool]:
        """`put` for each, in one transaction: all written or, on an error, none. The
        archiver writes a pass's calls so (issue 29: a transaction and a thread hop a call
        were most of the archive's cost when it drained 100 calls a second)."""

    async def get(self, sid: str) -> Json | None: ...

    async def amend(self, sid: str, lines: list[Json], recordings: list[Json]) -> bool:
        """Add late final lines to an archived call (and to its searched words) and set its
        recordings' newest state (archive/record.py `amend`): False when the call is not in
        the archive (yet)."""

    async def search(self, search: Search) -> tuple[list[Json], int | None]:
        """Matching calls, newest first, and the cursor of the next page (None: no more)."""

    async def add_review(self, review: Review) -> Json: ...

    async def reviews(self, search: ReviewSearch) -> list[Json]: ...

    async def reindex(self) -> int:
        """Every call's search words made again (archive/words.py; `earpiece archive reindex`)."""

    async def forget_before(self, ended_ms: int) -> list[Json]:
        """Delete what ended before `ended_ms` (retention); the deleted calls' recordings."""

    async def count(self) -> int: ...

    async def day_slots(self, start_ms: int, end_ms: int) -> list[tuple[str, int, int, int]]:
        """Calls that started in [start_ms, end_ms), per queue and half hour from start_ms:
        (queue, slot, calls, total seconds). The Day page's answered calls and handle time
        (issue 27); one grouped query read from an index on (started_ms, queue,
        duration_s) alone, however long the archive."""

    async def put_team_slots(self, day: str, totals: list[TeamTotal]) -> None:
        """A day's team totals (live/team_time.py) as Redis holds them now: each (team, slot,
        kind) written with its value, so copying again is harmless and the newest copy wins."""

    async def team_slots(self, day: str) -> list[TeamTotal]:
        """A day's team totals: (team, slot, kind, ms), read by the primary key's day."""

    async def close(self) -> None: ...


# (team, half hour, what: "talk" | "wrap" | "a:<activity>", milliseconds)
TeamTotal = tuple[str, int, str, int]


def retention_day(ended_ms: int) -> str:
    """The day before which team totals go with the calls that ended before `ended_ms`: the
    UTC day, less one (a day of any time zone is kept whole)."""
    when = datetime.fromtimestamp(ended_ms / 1000, UTC) - timedelta(days=1)
    return when.strftime("%Y-%m-%d")


SLOT_MS = 30 * 60 * 1000


def phrase_queries(q: str) -> list[str]:
    """Whatever someone typed as phrases of words, any of which finds a call (its words;
    for Japanese, its sounds too): never the store's query syntax. Made as the
    transcripts' words were (archive/words.py: widths, kana, Japanese)."""
    phrases = []
    for said in query_phrases(q[:MAX_QUERY_CHARS]):
        words = " ".join("".join(ch if ch.isalnum() or ch in "'" else " " for ch in said).split())
        if words:
            phrases.append(words)
    return phrases
