"""An archived call amended by what came late (issue 21): its late final lines join its
transcript once each, in time order, and its searched words (FTS5 in SQLite, the tsvector
in PostgreSQL); its recording takes its newest state; a call not in the archive is not
invented. Both stores, English and Japanese words."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path

import orjson
import pytest

from archive.archiver import Archiver
from archive.record import CallRecord
from archive.sqlite_store import SqliteStore
from archive.store import Search, Store
from core.audit import Audit
from core.redis_client import RedisTarget, async_client
from core.times import iso
from live.late import seal
from live.roster import load as load_roster
from live.store import LiveFloor, now_ms
from live.transcript import Transcripts
from tests.archive.test_archive_search import NOW, loop, store  # noqa: F401 - the stores' fixtures

GT = "GT" + "a" * 32


def line(seq: int, text: str, at: str | None) -> dict[str, object]:
    """A final line as the archive keeps it (live/transcript_view.py line_json)."""
    return {"speaker": "customer", "text": text, "at": at, "final": True, "seq": seq,
            "id": f"{GT}:{seq}"}  # fmt: skip


def record(first: dict[str, object], recording: dict[str, object]) -> CallRecord:
    sid = "CF" + uuid.uuid4().hex
    doc = {"sid": sid, "agent": "tara", "team": "billing", "transcript": [first],
           "recordings": [recording]}  # fmt: skip
    return CallRecord(sid=sid, started_ms=NOW - 60_000, ended_ms=NOW, team="billing",
                      queue="billing", agent="tara", alerts=(), monitored=False,
                      text=str(first["text"]), doc=doc)  # fmt: skip


def found(loop: asyncio.AbstractEventLoop, store: Store, q: str) -> list[str]:  # noqa: F811
    page, _ = loop.run_until_complete(store.search(Search(q=q)))
    return [c["sid"] for c in page]


@pytest.mark.parametrize(
    ("said", "late", "later"),
    [("hello I need help with my bill", "thanks goodbye", "one more thing"),
     ("請求書 について 質問が あります", "ありがとうございました", "もう ひとつ")],
)  # fmt: skip
def test_late_lines_and_a_recordings_end_amend_the_record(
    loop: asyncio.AbstractEventLoop,  # noqa: F811
    store: Store,  # noqa: F811
    said: str,
    late: str,
    later: str,
) -> None:
    run = loop.run_until_complete
    rid = "RE" + uuid.uuid4().hex
    first, second, third = (line(2, said, iso(NOW - 50_000)), line(5, late, iso(NOW - 40_000)),
                            line(9, later, iso(NOW - 30_000)))  # fmt: skip
    made = record(first, {"sid": rid, "status": "in-progress", "duration": None})
    assert run(store.put(made)) is True
    assert found(loop, store, late) == []
    # The later line arrives first (out of order), with a repeat of the first line.
    assert run(store.amend(made.sid, [third, first], [])) is True
    ended = {"sid": rid, "status": "completed", "duration": 42}
    assert run(store.amend(made.sid, [second], [ended])) is True
    doc = run(store.get(made.sid)) or {}
    assert [x["text"] for x in doc["transcript"]] == [said, late, later]
    (recording,) = doc["recordings"]
    assert recording["status"] == "completed" and recording["duration"] == 42
    for words in (said, late, later):
        assert found(loop, store, words) == [made.sid], words
    # Nothing new: nothing changes, and still found.
    assert run(store.amend(made.sid, [second], [])) is True
    unchanged = run(store.get(made.sid)) or {}
    assert [x["text"] for x in unchanged["transcript"]] == [said, late, later]
    # A call the archive does not have is not made up.
    assert run(store.amend("CF" + uuid.uuid4().hex, [second], [])) is False
    if isinstance(store, SqliteStore):
        # FTS5's external-content index agrees with the rows it indexes.
        with sqlite3.connect(store.path) as db:
            db.execute("INSERT INTO calls_text (calls_text) VALUES ('integrity-check')")


def test_the_archiver_writes_the_late_queue_and_waits_only_where_it_should(
    redis_target: RedisTarget, tmp_path: Path
) -> None:
    """`{ns}:late` entries: written into their record; kept (in order) for a call still to
    archive or sealed lately; dropped for a call the archive will never have; an entry that
    is not one is skipped, never a crash of the loop."""

    async def story() -> None:
        redis = async_client(redis_target)
        floor = LiveFloor(redis, namespace="a" + uuid.uuid4().hex[:10],
                          roster=load_roster(None), left_seconds=60)  # fmt: skip
        roster = load_roster(None)
        archive = SqliteStore(tmp_path / "archive.sqlite3")
        archiver = Archiver(floor, Transcripts(redis, floor, roster, 1000, 600),
                            Audit(redis, floor.keys, 90), archive, roster)  # fmt: skip
        keys = floor.keys
        kept = record(line(2, "hello", iso(NOW - 50_000)), {"sid": "RE" + "1" * 32})
        await archive.put(kept)
        to_archive, sealed, lost = ("CF" + uuid.uuid4().hex for _ in range(3))
        await redis.zadd(keys.ended, {to_archive: now_ms()})
        await seal(redis, keys, [sealed], floor.history_seconds)

        def entry(sid: str, seq: int, words: str) -> bytes:
            raw = {"g": GT, "q": seq, "s": "customer", "t": words, "at": NOW - 40_000, "f": True}
            return orjson.dumps({"k": "line", "sid": sid, "line": raw})

        queued = [entry(to_archive, 3, "one"), b"not json", entry(kept.sid, 3, "late words"),
                  entry(sealed, 4, "two"), entry(lost, 5, "gone"),
                  entry(to_archive, 6, "three")]  # fmt: skip
        await redis.rpush(keys.late, *queued)
        assert await archiver.amend_late() == 1
        doc = await archive.get(kept.sid) or {}
        assert [x["text"] for x in doc["transcript"]] == ["hello", "late words"]
        waiting = await redis.lrange(keys.late, 0, -1)
        assert waiting == [queued[0], queued[5], queued[3]]  # per call, in their order
        await archive.close()
        await redis.aclose()

    asyncio.run(story())
