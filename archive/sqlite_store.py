"""The embedded archive: SQLite in EARPIECE_DATA_DIR, FTS5 over the transcripts.

Nothing to start: the file is opened by whichever process needs it (the service
writes, the dashboard and the API read; WAL lets readers run beside the writer,
across processes). Rows are numbered in the order calls are archived (they are
archived in the order they ended), so "newest first" is a walk down one index,
and a word search walks FTS5's own index in that same order, stopping at a page:
it does not sort every match.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
import orjson

from archive.record import CallRecord, amend
from archive.store import (
    MAX_PAGE,
    SLOT_MS,
    Json,
    Review,
    ReviewSearch,
    Search,
    TeamTotal,
    phrase_queries,
    retention_day,
)
from archive.words import record_words
from core.private_files import private_dir, private_file, tighten

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
  id INTEGER PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  started_ms INTEGER NOT NULL,
  ended_ms INTEGER NOT NULL,
  duration_s INTEGER NOT NULL,
  team TEXT, queue TEXT, agent TEXT,
  alerts TEXT NOT NULL,
  monitored INTEGER NOT NULL,
  reviewed INTEGER NOT NULL DEFAULT 0,
  text TEXT NOT NULL,
  doc BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_ended ON calls(ended_ms);
CREATE INDEX IF NOT EXISTS calls_team ON calls(team);
CREATE INDEX IF NOT EXISTS calls_queue ON calls(queue);
CREATE INDEX IF NOT EXISTS calls_agent ON calls(agent);
-- The Day page (issue 27): a day's calls per queue and half hour, read from this index
-- alone (bench/floor_ops.py: a day of a 90-day million-call archive).
CREATE INDEX IF NOT EXISTS calls_day ON calls(started_ms, queue, duration_s);
CREATE VIRTUAL TABLE IF NOT EXISTS calls_text USING fts5(
  text, content='calls', content_rowid='id', tokenize='unicode61'
);
CREATE TABLE IF NOT EXISTS reviews (
  id INTEGER PRIMARY KEY,
  sid TEXT NOT NULL,
  reviewer TEXT NOT NULL,
  agent TEXT, team TEXT,
  at_ms INTEGER NOT NULL,
  score REAL NOT NULL,
  notes TEXT NOT NULL,
  criteria TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_sid ON reviews(sid);
CREATE INDEX IF NOT EXISTS reviews_agent ON reviews(agent, at_ms);
-- Each team's time per half hour of a day (live/team_time.py), copied from Redis by the
-- archiver; the Day page reads a day by the key's first column.
CREATE TABLE IF NOT EXISTS team_slots (
  day TEXT NOT NULL, team TEXT NOT NULL, slot INTEGER NOT NULL, kind TEXT NOT NULL,
  ms INTEGER NOT NULL,
  PRIMARY KEY (day, team, slot, kind)
) WITHOUT ROWID;
"""


def summary(row_id: int, doc: Json, reviewed: bool) -> Json:
    """A search result: the call without its transcript, timeline and people (its page has
    them)."""
    keep = ("sid", "friendly_name", "started_at", "ended_at", "duration_seconds", "team",
            "queue", "agent", "customer", "task_sid", "holds", "hold_seconds", "talk_share",
            "alerts", "monitored", "reason")  # fmt: skip
    out = {k: doc.get(k) for k in keep}
    out["supervisors"] = sorted({m["supervisor"] for m in doc.get("monitors") or ()})
    out["has_transcript"] = bool(doc.get("transcript"))
    out["recordings"] = len(doc.get("recordings") or ())
    out["reviewed"] = reviewed
    out["_row"] = row_id
    return out


class SqliteStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        # Ours alone (core/private_files.py): the folder 0700 if we make it, the file
        # 0600 before SQLite opens it; SQLite gives its -wal and -shm the database's mode,
        # and those an older Earpiece left are tightened.
        if not path.parent.exists():
            private_dir(path.parent)
        private_file(path)
        tighten(*(path.with_name(path.name + end) for end in ("-wal", "-shm", "-journal")))
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            with self._lock:
                return work(self._db)

        return await anyio.to_thread.run_sync(locked)

    async def put(self, record: CallRecord) -> bool:
        return (await self.put_all([record]))[0]

    async def put_all(self, records: list[CallRecord]) -> list[bool]:
        def write(db: sqlite3.Connection) -> list[bool]:
            db.execute("BEGIN IMMEDIATE")
            try:
                new = [insert(db, record) for record in records]
                db.execute("COMMIT")
                return new
            except BaseException:
                db.execute("ROLLBACK")
                raise

        return await self._run(write) if records else []

    def put_many(self, records: list[CallRecord]) -> None:
        """Bulk load (the bench's generated archive): one transaction."""
        with self._lock:
            self._db.execute("BEGIN")
            for record in records:
                insert(self._db, record)
            self._db.execute("COMMIT")

    async def get(self, sid: str) -> Json | None:
        def read(db: sqlite3.Connection) -> Json | None:
            row = db.execute("SELECT id, doc, reviewed FROM calls WHERE sid = ?", (sid,)).fetchone()
            if row is None:
                return None
            doc: Json = orjson.loads(row[1])
            doc["reviewed"] = bool(row[2])
            return doc

        return await self._run(read)

    async def amend(self, sid: str, lines: list[Json], recordings: list[Json]) -> bool:
        def write(db: sqlite3.Connection) -> bool:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT id, text, doc FROM calls WHERE sid = ?", (sid,)).fetchone()
                if row is None:
                    db.execute("ROLLBACK")
                    return False
                row_id, old_words, raw = row
                amended = amend(orjson.loads(raw), lines, recordings)
                if amended is not None:
                    doc, words = amended
                    if words != old_words:
                        # The words index holds the call's words as they were: out, then in.
                        if old_words:
                            db.execute(
                                "INSERT INTO calls_text (calls_text, rowid, text) "
                                "VALUES ('delete', ?, ?)",
                                (row_id, old_words),
                            )
                        if words:
                            db.execute(
                                "INSERT INTO calls_text (rowid, text) VALUES (?, ?)",
                                (row_id, words),
                            )
                    db.execute(
                        "UPDATE calls SET text = ?, doc = ? WHERE id = ?",
                        (words, orjson.dumps(doc), row_id),
                    )
                db.execute("COMMIT")
                return True
            except BaseException:
                db.execute("ROLLBACK")
                raise

        return await self._run(write)

    async def search(self, search: Search) -> tuple[list[Json], int | None]:
        where: list[str] = []
        args: list[Any] = []
        for column, value in (
            ("c.team", search.team),
            ("c.queue", search.queue),
            ("c.agent", search.agent),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if search.teams is not None:
            where.append(
                f"c.team IN ({','.join('?' * len(search.teams))})" if search.teams else "0"
            )
            args += list(search.teams)
        if search.since_ms is not None:
            where.append("c.ended_ms >= ?")
            args.append(search.since_ms)
        if search.until_ms is not None:
            where.append("c.started_ms < ?")
            args.append(search.until_ms)
        if search.alert is not None:
            where.append("instr(c.alerts, ?) > 0")
            args.append(f",{search.alert},")
        if search.monitored is not None:
            where.append("c.monitored = ?")
            args.append(int(search.monitored))
        if search.reviewed is not None:
            where.append("c.reviewed = ?")
            args.append(int(search.reviewed))
        if search.min_seconds is not None:
            where.append("c.duration_s >= ?")
            args.append(search.min_seconds)
        if search.max_seconds is not None:
            where.append("c.duration_s <= ?")
            args.append(search.max_seconds)
        if search.cursor is not None:
            where.append("c.id < ?")
            args.append(search.cursor)
        limit = max(1, min(search.limit, MAX_PAGE))
        phrases = phrase_queries(search.q or "")
        if phrases:
            sql = (
                "SELECT c.id, c.doc, c.reviewed FROM calls_text t "
                "JOIN calls c ON c.id = t.rowid WHERE calls_text MATCH ? "
                + "".join(f"AND {w} " for w in where)
                + "ORDER BY t.rowid DESC LIMIT ?"
            )
            match = " OR ".join('"' + words.replace('"', "") + '"' for words in phrases)
            args = [match, *args, limit + 1]
        else:
            sql = (
                "SELECT c.id, c.doc, c.reviewed FROM calls c "
                + ("WHERE " + " AND ".join(where) + " " if where else "")
                + "ORDER BY c.id DESC LIMIT ?"
            )
            args = [*args, limit + 1]

        def read(db: sqlite3.Connection) -> list[tuple[int, bytes, int]]:
            return list(db.execute(sql, args).fetchall())

        rows = await self._run(read)
        page = [summary(r[0], orjson.loads(r[1]), bool(r[2])) for r in rows[:limit]]
        return page, (rows[limit - 1][0] if len(rows) > limit else None)

    async def add_review(self, review: Review) -> Json:
        at = review.at_ms or int(time.time() * 1000)

        def write(db: sqlite3.Connection) -> int:
            db.execute("BEGIN IMMEDIATE")
            try:
                # One review per reviewer per call (issue 28): saving again edits it.
                mine = db.execute(
                    "SELECT id FROM reviews WHERE sid = ? AND reviewer = ? "
                    "ORDER BY id DESC LIMIT 1",
                    (review.sid, review.reviewer),
                ).fetchone()
                values = (
                    review.agent,
                    review.team,
                    at,
                    review.score,
                    review.notes,
                    orjson.dumps(review.criteria).decode(),
                )
                if mine is not None:
                    db.execute(
                        "UPDATE reviews SET agent = ?, team = ?, at_ms = ?, score = ?, "
                        "notes = ?, criteria = ? WHERE id = ?",
                        (*values, mine[0]),
                    )
                    made = int(mine[0])
                else:
                    cur = db.execute(
                        "INSERT INTO reviews (sid, reviewer, agent, team, at_ms, score, notes, "
                        "criteria) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (review.sid, review.reviewer, *values),
                    )
                    made = int(cur.lastrowid or 0)
                db.execute("UPDATE calls SET reviewed = 1 WHERE sid = ?", (review.sid,))
                db.execute("COMMIT")
                return made
            except BaseException:
                db.execute("ROLLBACK")
                raise

        review_id = await self._run(write)
        row = (
            review_id,
            review.sid,
            review.reviewer,
            review.agent,
            review.team,
            at,
            review.score,
            review.notes,
            orjson.dumps(review.criteria),
        )
        return review_json(row)

    async def reviews(self, search: ReviewSearch) -> list[Json]:
        where, args = [], []
        for column, value in (
            ("agent", search.agent),
            ("team", search.team),
            ("reviewer", search.reviewer),
            ("sid", search.sid),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if search.teams is not None:
            where.append(f"team IN ({','.join('?' * len(search.teams))})" if search.teams else "0")
            args += list(search.teams)
        sql = (
            "SELECT id, sid, reviewer, agent, team, at_ms, score, notes, criteria FROM reviews "
            + ("WHERE " + " AND ".join(where) + " " if where else "")
            + "ORDER BY id DESC LIMIT ?"
        )

        def read(db: sqlite3.Connection) -> list[Any]:
            return list(db.execute(sql, [*args, search.limit]).fetchall())

        return [review_json(r) for r in await self._run(read)]

    async def forget_before(self, ended_ms: int) -> list[Json]:
        def delete(db: sqlite3.Connection) -> list[Json]:
            db.execute("BEGIN IMMEDIATE")
            try:
                rows = db.execute(
                    "SELECT id, sid, text, doc FROM calls WHERE ended_ms < ?", (ended_ms,)
                ).fetchall()
                recordings: list[Json] = []
                for row_id, sid, words, doc in rows:
                    if words:
                        db.execute(
                            "INSERT INTO calls_text (calls_text, rowid, text) "
                            "VALUES ('delete', ?, ?)",
                            (row_id, words),
                        )
                    recordings += orjson.loads(doc).get("recordings") or []
                    db.execute("DELETE FROM reviews WHERE sid = ?", (sid,))
                db.execute("DELETE FROM calls WHERE ended_ms < ?", (ended_ms,))
                db.execute("DELETE FROM team_slots WHERE day < ?", (retention_day(ended_ms),))
                db.execute("COMMIT")
                return recordings
            except BaseException:
                db.execute("ROLLBACK")
                raise

        return await self._run(delete)

    async def count(self) -> int:
        def read(db: sqlite3.Connection) -> int:
            return int(db.execute("SELECT count(*) FROM calls").fetchone()[0])

        return await self._run(read)

    async def reindex(self, batch: int = 2000) -> int:
        """Make every call's words again (archive/words.py) and rebuild the word index:
        an archive written before issue 23 finds Japanese words afterwards. The calls
        whose words changed."""

        def work(db: sqlite3.Connection) -> int:
            changed, last = 0, 0
            while True:
                rows = db.execute(
                    "SELECT id, text, doc FROM calls WHERE id > ? ORDER BY id LIMIT ?",
                    (last, batch),
                ).fetchall()
                if not rows:
                    break
                for row_id, old, doc in rows:
                    new = record_words(orjson.loads(doc))
                    if new != old:
                        db.execute("UPDATE calls SET text = ? WHERE id = ?", (new, row_id))
                        changed += 1
                last = rows[-1][0]
            db.execute("INSERT INTO calls_text (calls_text) VALUES ('rebuild')")
            db.commit()
            return changed

        return await self._run(work)

    async def day_slots(self, start_ms: int, end_ms: int) -> list[tuple[str, int, int, int]]:
        def read(db: sqlite3.Connection) -> list[tuple[str, int, int, int]]:
            rows = db.execute(
                "SELECT coalesce(queue, ''), (started_ms - ?) / ?, count(*), sum(duration_s) "
                "FROM calls INDEXED BY calls_day WHERE started_ms >= ? AND started_ms < ? "
                "GROUP BY 1, 2",
                (start_ms, SLOT_MS, start_ms, end_ms),
            ).fetchall()
            return [(str(q), int(slot), int(n), int(total or 0)) for q, slot, n, total in rows]

        return await self._run(read)

    async def put_team_slots(self, day: str, totals: list[TeamTotal]) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT INTO team_slots (day, team, slot, kind, ms) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (day, team, slot, kind) DO UPDATE SET ms = excluded.ms",
                    [(day, *total) for total in totals],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

        await self._run(write)

    async def team_slots(self, day: str) -> list[TeamTotal]:
        def read(db: sqlite3.Connection) -> list[TeamTotal]:
            rows = db.execute(
                "SELECT team, slot, kind, ms FROM team_slots WHERE day = ?", (day,)
            ).fetchall()
            return [(str(t), int(s), str(k), int(ms)) for t, s, k, ms in rows]

        return await self._run(read)

    async def close(self) -> None:
        with self._lock:
            self._db.close()


def insert(db: sqlite3.Connection, record: CallRecord) -> bool:
    """One call's row and its words, unless the call is there already (False then)."""
    cur = db.execute(
        "INSERT OR IGNORE INTO calls (sid, started_ms, ended_ms, duration_s, team, queue, agent, "
        "alerts, monitored, text, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*record.columns(), int(record.monitored), record.text, orjson.dumps(record.doc)),
    )
    new = cur.rowcount == 1
    if new and record.text:
        words = "INSERT INTO calls_text (rowid, text) VALUES (?, ?)"
        db.execute(words, (cur.lastrowid, record.text))
    return new


def review_json(row: Any) -> Json:
    from core.times import iso

    review_id, sid, reviewer, agent, team, at_ms, score, notes, criteria = row
    return {
        "id": review_id,
        "conference_sid": sid,
        "reviewer": reviewer,
        "agent": agent,
        "team": team,
        "at": iso(at_ms),
        "score": score,
        "notes": notes,
        "criteria": orjson.loads(criteria),
    }
