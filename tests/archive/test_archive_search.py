"""The archive's search against a generated set of ended calls: every filter, the words said,
pages, and retention, on both stores (the embedded SQLite, and PostgreSQL: the server this
machine runs, or EARPIECE_TEST_POSTGRES_URL), compared with the same filters in Python."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from archive.postgres_store import PostgresStore
from archive.record import CallRecord
from archive.sqlite_store import SqliteStore
from archive.store import Review, ReviewSearch, Search, Store, phrase_queries
from core.times import now_ms
from tests.conftest import POSTGRES

# The calls ended in the hour before the suite ran (an archive's searches and keeping
# are relative to now: a fixed day would age out of them).
NOW = now_ms()
TEAMS = {"sales-east": ("bob", "carol"), "billing": ("tara", "uma"), "support": ("nick",)}
PHRASES = ("cancel my account", "my bill is wrong", "speak to your manager", "thank you bye")


def generated(count: int, seed: int = 5) -> list[CallRecord]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        team = rng.choice(sorted(TEAMS))
        agent = rng.choice(TEAMS[team])
        ended = NOW - (count - n) * 60_000  # archived in the order they ended
        length = rng.randint(20, 900)
        words = " ".join(rng.sample(PHRASES, rng.randint(0, 2)))
        alerts = tuple(sorted(rng.sample(["help", "phrase", "long-hold"], rng.randint(0, 2))))
        sid = f"CF{uuid.uuid4().hex}"
        queue = team.split("-")[0]
        doc = {"sid": sid, "agent": agent, "team": team, "queue": queue,
               "ended_at": str(ended), "duration_seconds": length, "alerts": list(alerts),
               "monitors": [{"supervisor": "ana"}] if n % 3 == 0 else [],
               "transcript": [{"text": words}] if words else [],
               "recordings": [{"sid": f"RE{uuid.uuid4().hex}"}] if n % 4 == 0 else []}  # fmt: skip
        out.append(CallRecord(sid=sid, started_ms=ended - length * 1000, ended_ms=ended,
                              team=team, queue=queue, agent=agent, alerts=alerts,
                              monitored=n % 3 == 0, text=words, doc=doc))  # fmt: skip
    return out


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    yield running
    running.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path,
          loop: asyncio.AbstractEventLoop) -> Iterator[Store]:  # fmt: skip
    if request.param == "sqlite":
        made: Store = SqliteStore(tmp_path / "archive.sqlite3")
        yield made
        loop.run_until_complete(made.close())
        return
    name = "ep_test_" + uuid.uuid4().hex[:10]
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = POSTGRES.rsplit("/", 1)[0] + "/" + name
    made = PostgresStore(url)
    try:
        yield made
    finally:
        loop.run_until_complete(made.close())
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def matches(record: CallRecord, s: Search) -> bool:
    words = " ".join(phrase_queries(s.q or "")[:1]).lower()  # what someone typed, as words
    return all((
        s.team is None or record.team == s.team,
        s.queue is None or record.queue == s.queue,
        s.agent is None or record.agent == s.agent,
        s.teams is None or record.team in s.teams,
        s.since_ms is None or record.ended_ms >= s.since_ms,
        s.until_ms is None or record.started_ms < s.until_ms,
        s.alert is None or s.alert in record.alerts,
        s.monitored is None or record.monitored == s.monitored,
        s.min_seconds is None or record.duration_seconds >= s.min_seconds,
        s.max_seconds is None or record.duration_seconds <= s.max_seconds,
        not words or words in record.text.lower(),
    ))  # fmt: skip


def everything(loop: asyncio.AbstractEventLoop, store: Store, search: Search) -> list[str]:
    """Every page of a search, newest first."""
    found: list[str] = []
    cursor = None
    while True:
        page, cursor = loop.run_until_complete(
            store.search(Search(**{**search.__dict__, "cursor": cursor, "limit": 37}))
        )
        found += [c["sid"] for c in page]
        if cursor is None:
            return found


SEARCHES = [
    Search(),
    Search(team="billing"),
    Search(agent="bob", monitored=True),
    Search(queue="sales", alert="phrase"),
    Search(q="cancel my account"),
    Search(q="CANCEL, my account!", team="sales-east"),
    Search(q="bill is", min_seconds=300),
    Search(since_ms=NOW - 100 * 60_000, until_ms=NOW - 20 * 60_000),
    Search(max_seconds=100, alert="help"),
    Search(teams=("support",), q="manager"),
    Search(teams=()),
    Search(q='"); DROP TABLE calls; --'),
]


@pytest.mark.parametrize("search", SEARCHES, ids=[str(i) for i in range(len(SEARCHES))])
def test_every_filter_finds_what_python_finds(
    store: Store, loop: asyncio.AbstractEventLoop, search: Search
) -> None:
    records = generated(300)
    for record in records:
        assert loop.run_until_complete(store.put(record)) is True
    expected = [r.sid for r in reversed(records) if matches(r, search)]  # newest first
    assert everything(loop, store, search) == expected


def test_a_call_is_kept_once_and_reviews_mark_it(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    (record,) = generated(1)
    assert loop.run_until_complete(store.put(record)) is True
    assert loop.run_until_complete(store.put(record)) is False
    assert loop.run_until_complete(store.count()) == 1
    made = loop.run_until_complete(store.add_review(Review(
        sid=record.sid, reviewer="quincy", score=72.5, notes="ok",
        criteria={"Resolved": True}, agent=record.agent, team=record.team)))  # fmt: skip
    assert made["score"] == 72.5 and made["criteria"] == {"Resolved": True}
    (found,), _ = loop.run_until_complete(store.search(Search(reviewed=True)))
    assert found["sid"] == record.sid
    listed = loop.run_until_complete(store.reviews(ReviewSearch(agent=record.agent)))
    assert [r["reviewer"] for r in listed] == ["quincy"]


def test_retention_deletes_what_is_past_it_with_its_reviews(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    records = generated(50)
    for record in records:
        loop.run_until_complete(store.put(record))
    cutoff = records[20].ended_ms
    first = Review(sid=records[0].sid, reviewer="q", score=1, notes="", criteria={})
    old = loop.run_until_complete(store.add_review(first))
    assert old["id"]
    gone = loop.run_until_complete(store.forget_before(cutoff))
    kept = everything(loop, store, Search())
    assert kept == [r.sid for r in reversed(records[20:])]
    assert sorted(r["sid"] for r in gone) == sorted(
        rec["sid"] for r in records[:20] for rec in r.doc["recordings"]
    )
    assert loop.run_until_complete(store.reviews(ReviewSearch(sid=records[0].sid))) == []
    assert everything(loop, store, Search(q="cancel my account")) == [
        r.sid for r in reversed(records[20:]) if "cancel my account" in r.text
    ]


def test_a_pass_of_calls_is_written_in_one_transaction_all_or_none(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    """The archiver writes a pass's calls with put_all (issue 29): each once, and when one
    cannot be written none is, so the pass stays due and is tried again whole."""
    first, second, third, fourth = generated(4)
    assert loop.run_until_complete(store.put(second)) is True
    assert loop.run_until_complete(store.put_all([first, second, third])) == [True, False, True]
    assert loop.run_until_complete(store.count()) == 3
    assert loop.run_until_complete(store.put_all([])) == []
    unwritable = dataclasses.replace(fourth, sid="CF" + uuid.uuid4().hex, doc={"x": object()})
    with pytest.raises(TypeError):
        loop.run_until_complete(store.put_all([fourth, unwritable]))
    # The good call before it was rolled back with it, and the store goes on.
    assert loop.run_until_complete(store.count()) == 3
    assert loop.run_until_complete(store.put_all([fourth])) == [True]
