"""The archive on a PostgreSQL server (EARPIECE_ARCHIVE_URL=postgresql://…), for a floor
whose processes run on several machines: the same tables and the same order as the
embedded SQLite store, with the words in a `tsvector` behind a GIN index.

Rows are numbered in archive order (a bigserial), so "newest first" walks the primary
key down; a word search is `plainto_tsquery` (what someone typed is never query syntax),
narrowed by the GIN index, newest first.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb

from archive.record import CallRecord, amend
from archive.sqlite_store import review_json, summary
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

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
  id BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  started_ms BIGINT NOT NULL,
  ended_ms BIGINT NOT NULL,
  duration_s INTEGER NOT NULL,
  team TEXT, queue TEXT, agent TEXT,
  alerts TEXT NOT NULL,
  monitored BOOLEAN NOT NULL,
  reviewed BOOLEAN NOT NULL DEFAULT false,
  words TSVECTOR,
  doc JSONB NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_ended ON calls(ended_ms);
CREATE INDEX IF NOT EXISTS calls_team ON calls(team, id);
CREATE INDEX IF NOT EXISTS calls_queue ON calls(queue, id);
CREATE INDEX IF NOT EXISTS calls_agent ON calls(agent, id);
CREATE INDEX IF NOT EXISTS calls_day ON calls(started_ms) INCLUDE (queue, duration_s);
CREATE INDEX IF NOT EXISTS calls_words ON calls USING GIN (words);
CREATE TABLE IF NOT EXISTS reviews (
  id BIGSERIAL PRIMARY KEY,
  sid TEXT NOT NULL,
  reviewer TEXT NOT NULL,
  agent TEXT, team TEXT,
  at_ms BIGINT NOT NULL,
  score DOUBLE PRECISION NOT NULL,
  notes TEXT NOT NULL,
  criteria JSONB NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_sid ON reviews(sid);
CREATE INDEX IF NOT EXISTS reviews_agent ON reviews(agent, at_ms);
CREATE TABLE IF NOT EXISTS team_slots (
  day TEXT NOT NULL, team TEXT NOT NULL, slot INTEGER NOT NULL, kind TEXT NOT NULL,
  ms BIGINT NOT NULL,
  PRIMARY KEY (day, team, slot, kind)
);
"""


class PostgresStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self._pool: psycopg.AsyncConnection[Any] | None = None

    async def _db(self) -> psycopg.AsyncConnection[Any]:
        if self._pool is None or self._pool.closed:
            self._pool = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
            async with self._pool.cursor() as cur:
                await cur.execute(SCHEMA)
        return self._pool

    async def put(self, record: CallRecord) -> bool:
        return (await self.put_all([record]))[0]

    async def put_all(self, records: list[CallRecord]) -> list[bool]:
        if not records:
            return []
        db = await self._db()
        new = []
        async with db.transaction(), db.cursor() as cur:
            for record in records:
                await cur.execute(
                    "INSERT INTO calls (sid, started_ms, ended_ms, duration_s, team, queue, "
                    "agent, alerts, monitored, words, doc) VALUES (%s, %s, %s, %s, %s, %s, %s, "
                    "%s, %s, to_tsvector('simple', %s), %s) ON CONFLICT (sid) DO NOTHING",
                    (*record.columns(), record.monitored, record.text, Jsonb(record.doc)),
                )
                new.append(cur.rowcount == 1)
        return new

    async def get(self, sid: str) -> Json | None:
        db = await self._db()
        async with db.cursor() as cur:
            await cur.execute("SELECT doc, reviewed FROM calls WHERE sid = %s", (sid,))
            row = await cur.fetchone()
        if row is None:
            return None
        doc: Json = dict(row[0])
        doc["reviewed"] = bool(row[1])
        return doc

    async def amend(self, sid: str, lines: list[Json], recordings: list[Json]) -> bool:
        db = await self._db()
        async with db.transaction(), db.cursor() as cur:
            await cur.execute("SELECT doc FROM calls WHERE sid = %s FOR UPDATE", (sid,))
            row = await cur.fetchone()
            if row is None:
                return False
            amended = amend(dict(row[0]), lines, recordings)
            if amended is not None:
                doc, words = amended
                await cur.execute(
                    "UPDATE calls SET doc = %s, words = to_tsvector('simple', %s) WHERE sid = %s",
                    (Jsonb(doc), words, sid),
                )
        return True

    async def search(self, search: Search) -> tuple[list[Json], int | None]:
        where: list[str] = []
        args: list[Any] = []
        for column, named in (
            ("team", search.team),
            ("queue", search.queue),
            ("agent", search.agent),
        ):
            if named is not None:
                where.append(f"{column} = %s")
                args.append(named)
        if search.teams is not None:
            where.append("team = ANY(%s)")
            args.append(list(search.teams))
        for clause, value in (
            ("ended_ms >= %s", search.since_ms),
            ("started_ms < %s", search.until_ms),
            ("duration_s >= %s", search.min_seconds),
            ("duration_s <= %s", search.max_seconds),
            ("monitored = %s", search.monitored),
            ("reviewed = %s", search.reviewed),
            ("id < %s", search.cursor),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        if search.alert is not None:
            where.append("strpos(alerts, %s) > 0")
            args.append(f",{search.alert},")
        phrases = phrase_queries(search.q or "")
        if phrases:
            where.append(
                "(" + " OR ".join(["words @@ phraseto_tsquery('simple', %s)"] * len(phrases)) + ")"
            )
            args.extend(phrases)
        limit = max(1, min(search.limit, MAX_PAGE))
        sql = (
            "SELECT id, doc, reviewed FROM calls "
            + ("WHERE " + " AND ".join(where) + " " if where else "")
            + "ORDER BY id DESC LIMIT %s"
        )
        db = await self._db()
        async with db.cursor() as cur:
            await cur.execute(sql, (*args, limit + 1))
            rows = await cur.fetchall()
        page = [summary(int(r[0]), dict(r[1]), bool(r[2])) for r in rows[:limit]]
        return page, (int(rows[limit - 1][0]) if len(rows) > limit else None)

    async def add_review(self, review: Review) -> Json:
        at = review.at_ms or int(time.time() * 1000)
        db = await self._db()
        async with db.transaction(), db.cursor() as cur:
            # One review per reviewer per call (issue 28): saving again edits it.
            await cur.execute(
                "UPDATE reviews SET agent = %s, team = %s, at_ms = %s, score = %s, notes = %s, "
                "criteria = %s WHERE id = (SELECT max(id) FROM reviews WHERE sid = %s AND "
                "reviewer = %s) RETURNING id",
                (
                    review.agent,
                    review.team,
                    at,
                    review.score,
                    review.notes,
                    Jsonb(review.criteria),
                    review.sid,
                    review.reviewer,
                ),
            )
            row = await cur.fetchone()
            if row is None:
                await cur.execute(
                    "INSERT INTO reviews (sid, reviewer, agent, team, at_ms, score, notes, "
                    "criteria) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                    (
                        review.sid,
                        review.reviewer,
                        review.agent,
                        review.team,
                        at,
                        review.score,
                        review.notes,
                        Jsonb(review.criteria),
                    ),
                )
                row = await cur.fetchone()
            await cur.execute("UPDATE calls SET reviewed = true WHERE sid = %s", (review.sid,))
        assert row is not None
        made = (
            int(row[0]),
            review.sid,
            review.reviewer,
            review.agent,
            review.team,
            at,
            review.score,
            review.notes,
            orjson.dumps(review.criteria),
        )
        return review_json(made)

    async def reviews(self, search: ReviewSearch) -> list[Json]:
        where: list[str] = []
        args: list[Any] = []
        for column, value in (
            ("agent", search.agent),
            ("team", search.team),
            ("reviewer", search.reviewer),
            ("sid", search.sid),
        ):
            if value is not None:
                where.append(f"{column} = %s")
                args.append(value)
        if search.teams is not None:
            where.append("team = ANY(%s)")
            args.append(list(search.teams))
        sql = (
            "SELECT id, sid, reviewer, agent, team, at_ms, score, notes, criteria::text "
            "FROM reviews "
            + ("WHERE " + " AND ".join(where) + " " if where else "")
            + "ORDER BY id DESC LIMIT %s"
        )
        db = await self._db()
        async with db.cursor() as cur:
            await cur.execute(sql, (*args, search.limit))
            rows = await cur.fetchall()
        return [review_json(tuple(r)) for r in rows]

    async def forget_before(self, ended_ms: int) -> list[Json]:
        db = await self._db()
        async with db.transaction(), db.cursor() as cur:
            await cur.execute(
                "DELETE FROM calls WHERE ended_ms < %s RETURNING sid, doc->'recordings'",
                (ended_ms,),
            )
            rows = await cur.fetchall()
            sids = [r[0] for r in rows]
            await cur.execute("DELETE FROM team_slots WHERE day < %s", (retention_day(ended_ms),))
            if sids:
                await cur.execute("DELETE FROM reviews WHERE sid = ANY(%s)", (sids,))
        return [rec for r in rows for rec in (r[1] or [])]

    async def reindex(self, batch: int = 2000) -> int:
        """Make every call's words again (archive/words.py), a batch per transaction: an
        archive written before issue 23 finds Japanese words afterwards. The calls with
        words (the store keeps only their tsvector, so every call's is remade)."""
        db = await self._db()
        changed, last = 0, 0
        while True:
            async with db.transaction(), db.cursor() as cur:
                await cur.execute(
                    "SELECT id, doc FROM calls WHERE id > %s ORDER BY id LIMIT %s", (last, batch)
                )
                rows = await cur.fetchall()
                if not rows:
                    return changed
                for row_id, doc in rows:
                    new = record_words(doc if isinstance(doc, dict) else orjson.loads(doc))
                    await cur.execute(
                        "UPDATE calls SET words = to_tsvector('simple', %s) WHERE id = %s",
                        (new, row_id),
                    )
                    changed += 1 if new else 0
                last = rows[-1][0]

    async def day_slots(self, start_ms: int, end_ms: int) -> list[tuple[str, int, int, int]]:
        db = await self._db()
        async with db.cursor() as cur:
            await cur.execute(
                "SELECT coalesce(queue, ''), (started_ms - %s) / %s, count(*), sum(duration_s) "
                "FROM calls WHERE started_ms >= %s AND started_ms < %s GROUP BY 1, 2",
                (start_ms, SLOT_MS, start_ms, end_ms),
            )
            rows = await cur.fetchall()
        return [(str(q), int(slot), int(n), int(total or 0)) for q, slot, n, total in rows]

    async def put_team_slots(self, day: str, totals: list[TeamTotal]) -> None:
        db = await self._db()
        async with db.transaction(), db.cursor() as cur:
            await cur.executemany(
                "INSERT INTO team_slots (day, team, slot, kind, ms) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (day, team, slot, kind) DO UPDATE SET ms = excluded.ms",
                [(day, *total) for total in totals],
            )

    async def team_slots(self, day: str) -> list[TeamTotal]:
        db = await self._db()
        async with db.cursor() as cur:
            await cur.execute("SELECT team, slot, kind, ms FROM team_slots WHERE day = %s", (day,))
            rows = await cur.fetchall()
        return [(str(t), int(s), str(k), int(ms)) for t, s, k, ms in rows]

    async def count(self) -> int:
        db = await self._db()
        async with db.cursor() as cur:
            await cur.execute("SELECT count(*) FROM calls")
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
