"""Archive search finds Japanese words inside sentences (issue 23), on both stores: the words a
call said are indexed and queried through one analyser (archive/words.py), with full-width,
half-width and kana variants of a query finding the same calls; an archive written the old
way finds them after `earpiece archive reindex`."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from archive.record import CallRecord
from archive.sqlite_store import SqliteStore
from archive.store import Search, Store
from archive.words import index_words
from core.times import now_ms
from tests.archive.test_archive_search import loop, store

__all__ = ["loop", "store"]  # the stores' fixtures (SQLite, and the PostgreSQL server)

# The calls ended in the hour before the suite ran (an archive's searches and keeping
# are relative to now: a fixed day would age out of them).
NOW = now_ms()


def wide(ascii_text: str) -> str:
    """The same letters in full width (how an IME types them): `cancel` -> U+FF43 ..."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in ascii_text)


# What each call said, by a name the expectations use.
SAID = {
    "cancel": "解約したいです。",
    "fee": "解約金はいくらですか",
    "contract": "契約の更新をお願いします",
    "dessert": "クレームブリュレを注文しました",
    "complaint": "ｸﾚｰﾑを言いたいんですけど",
    "bill": "請求書がまだ届いていません",
    "manager": "責任者を出してください",
    "english": "I want to cancel my account",
    "mixed": "明細の件でcancelしたい",
    # Written in hiragana by the speech engine: the analyser cuts these words wrongly
    # (かう 約する, 偏 越し), their sounds are the words' all the same.
    "hiragana cancel": "かいやくしたいです",
    "hiragana lawyer": "べんごしにそうだんします",
    # A loanword in half-width katakana (a QA trial: found by テスト and ﾃｽﾄ, not by てすと).
    "test": "ﾃｽﾄです。もう一度お願いします",
}


def record(name: str, n: int, text: str) -> CallRecord:
    sid = f"CF{uuid.uuid4().hex}"
    ended = NOW - (len(SAID) - n) * 60_000
    doc = {"sid": sid, "name": name, "transcript": [{"text": SAID[name], "final": True}]}
    return CallRecord(sid=sid, started_ms=ended - 60_000, ended_ms=ended, team="jp-billing",
                      queue="billing", agent="sato", alerts=(), monitored=False, text=text,
                      doc=doc)  # fmt: skip


def found(loop: asyncio.AbstractEventLoop, store: Store, q: str) -> set[str]:
    page, _ = loop.run_until_complete(store.search(Search(q=q, limit=50)))
    return {str(call["sid"]) for call in page}


def put_all(
    loop: asyncio.AbstractEventLoop, store: Store, *, old_way: bool = False
) -> dict[str, str]:
    sids = {}
    for n, name in enumerate(SAID):
        text = SAID[name] if old_way else index_words(SAID[name])
        made = record(name, n, text)
        assert loop.run_until_complete(store.put(made)) is True
        sids[made.sid] = name
    return sids


# A query, and the calls it must find (every other call must not be found).
EXPECTED = [
    ("解約", {"cancel", "fee", "hiragana cancel"}),  # inside a sentence, and inside 解約金
    ("カイヤク", {"cancel", "fee", "hiragana cancel"}),  # the katakana spelling
    ("ｶｲﾔｸ", {"cancel", "fee", "hiragana cancel"}),  # half-width katakana
    ("かいやく", {"cancel", "fee", "hiragana cancel"}),  # hiragana, however it was cut
    ("弁護士", {"hiragana lawyer"}),
    ("べんごし", {"hiragana lawyer"}),
    ("せきにんしゃ", {"manager"}),
    ("約", set()),  # one sound pair alone is not looked for: too many words sound so
    ("契約", {"contract"}),  # shares 約 with 解約: not found by it, nor it by this
    ("解約金", {"fee"}),
    ("クレーム", {"complaint", "dessert"}),  # search finds inside compounds (recall)
    ("ｸﾚｰﾑ", {"complaint", "dessert"}),
    ("請求書", {"bill"}),
    ("届く", {"bill"}),  # the dictionary form finds 届いて
    ("責任者", {"manager"}),
    ("責任者を出して", {"manager"}),  # a phrase: its words side by side
    ("出してください 責任者", set()),  # ... in order
    (wide("cancel"), {"english", "mixed"}),  # full-width letters
    (wide("CANCEL my account"), {"english"}),
    ("cancel my account", {"english"}),
    ("明細", {"mixed"}),
    ("テスト", {"test"}),
    ("ﾃｽﾄ", {"test"}),
    ("てすと", {"test"}),  # a query in kana sounds as it is written, whatever the analyser
    ("てすとです", {"test"}),
]


@pytest.mark.parametrize(("q", "names"), EXPECTED, ids=[q for q, _ in EXPECTED])
def test_a_japanese_word_is_found_inside_a_sentence(
    loop: asyncio.AbstractEventLoop, store: Store, q: str, names: set[str]
) -> None:
    sids = put_all(loop, store)
    assert {sids[s] for s in found(loop, store, q)} == names


def test_an_archive_indexed_the_old_way_finds_japanese_after_reindex(
    loop: asyncio.AbstractEventLoop, store: Store
) -> None:
    sids = put_all(loop, store, old_way=True)
    # As before issue 23: the whole run is one word, so 解約 is found in no sentence.
    assert found(loop, store, "解約") == set()
    assert loop.run_until_complete(store.reindex()) >= len(SAID) - 2
    assert {sids[s] for s in found(loop, store, "解約")} == {"cancel", "fee", "hiragana cancel"}
    assert {sids[s] for s in found(loop, store, wide("cancel"))} == {"english", "mixed"}
    # Twice changes nothing and loses nothing.
    loop.run_until_complete(store.reindex())
    assert {sids[s] for s in found(loop, store, "契約")} == {"contract"}


def test_the_reindex_command_runs_on_the_configured_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from earpiece.cli import main

    path = tmp_path / "old.sqlite3"
    loop = asyncio.new_event_loop()
    try:
        store = SqliteStore(path)
        sids = put_all(loop, store, old_way=True)
        loop.run_until_complete(store.close())
        monkeypatch.chdir(tmp_path)  # no .env of the developer's
        monkeypatch.setenv("EARPIECE_ARCHIVE_URL", f"sqlite:///{path}")
        assert main(["archive", "reindex"]) == 0
        assert "reindexed" in capsys.readouterr().out
        store = SqliteStore(path)
        assert {sids[s] for s in found(loop, store, "解約")} == {"cancel", "fee", "hiragana cancel"}
        loop.run_until_complete(store.close())
    finally:
        loop.close()
