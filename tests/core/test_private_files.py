"""Data on disk is Earpiece's own user's alone (issue 22): the data folder 0700, the embedded
Redis's folder and files 0700/0600, the SQLite archive and its -wal/-shm 0600."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import tempfile
from pathlib import Path

import redis as sync_redis

from archive.record import CallRecord
from archive.sqlite_store import SqliteStore
from core.embedded_redis import EmbeddedRedis
from core.private_files import DIR_MODE, FILE_MODE, private_dir, private_file, tighten
from core.settings import load
from live.store import now_ms


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_embedded_redis_folder_and_its_files_are_private() -> None:
    # Short: a Unix socket path has a length limit. A permissive umask, as a careless
    # service manager might leave, must not make anything readable by others either.
    top = Path(tempfile.mkdtemp(prefix="ep-mode-", dir="/tmp"))
    os.chmod(top, 0o755)
    data = top / "data"
    old = os.umask(0o022)
    embedded = EmbeddedRedis(data)
    try:
        url = embedded.start()
        client = sync_redis.Redis(unix_socket_path=url.removeprefix("unix://"))
        client.set("floor", "a call")
        client.bgrewriteaof()
        client.close()
        assert mode(data) == 0o700 and mode(data / "redis") == 0o700
        files = [p for p in (data / "redis").rglob("*") if p.is_file() and not p.is_socket()]
        aof = [p for p in files if "appendonly" in p.name or p.suffix in (".aof", ".rdb")]
        assert aof, files  # the append-only file is there, and so is checked
        for path in files:
            assert mode(path) & 0o077 == 0, (path, oct(mode(path)))
        for folder in [p for p in (data / "redis").rglob("*") if p.is_dir()]:
            assert mode(folder) & 0o077 == 0, (folder, oct(mode(folder)))
    finally:
        os.umask(old)
        embedded.release()
        embedded.shutdown()
        shutil.rmtree(top, ignore_errors=True)


def test_the_sqlite_archive_and_its_wal_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        settings = load({"EARPIECE_DATA_DIR": str(tmp_path / "data"),
                         "TWILIO_AUTH_TOKEN": "a" * 32}, env_file=None)  # fmt: skip
        from archive.opening import open_store

        store = open_store(settings)
        assert isinstance(store, SqliteStore)
        ended = now_ms()
        record = CallRecord(
            sid="CF" + "1" * 32,
            started_ms=ended - 60_000,
            ended_ms=ended,
            team="billing",
            queue="billing",
            agent="aiko",
            alerts=(),
            monitored=False,
            text="請求書について",
            doc={"sid": "CF" + "1" * 32},
        )
        asyncio.run(store.put(record))
        db = store.path
        assert mode(tmp_path / "data") == 0o700
        assert mode(db) == 0o600
        for end in ("-wal", "-shm"):
            side = db.with_name(db.name + end)
            assert side.exists() and mode(side) == 0o600, (side, oct(mode(side)))
        # An archive an older Earpiece left world-readable is tightened when opened.
        asyncio.run(store.close())
        os.chmod(db, 0o644)
        os.chmod(tmp_path / "data", 0o755)
        again = open_store(settings)
        assert mode(db) == 0o600 and mode(tmp_path / "data") == 0o700
        asyncio.run(again.close())
    finally:
        os.umask(old)


# The helpers themselves (core/private_files.py), whatever uses them.


def test_folders_are_made_and_tightened_to_0700(tmp_path: Path) -> None:
    made = private_dir(tmp_path / "data" / "archive")
    assert made.is_dir() and mode(made) == DIR_MODE
    open_one = tmp_path / "open"
    open_one.mkdir(mode=0o755)
    os.chmod(open_one, 0o755)  # an existing installation's folder, as umask 022 left it
    private_dir(open_one)
    assert mode(open_one) == DIR_MODE


def test_a_file_is_0600_whatever_the_umask_and_keeps_its_contents(tmp_path: Path) -> None:
    old = os.umask(0)  # a umask that would leave a plain open()'s file 0666
    try:
        made = private_file(tmp_path / "archive.sqlite3")
    finally:
        os.umask(old)
    assert made.exists() and mode(made) == FILE_MODE
    kept = tmp_path / "sessions"
    kept.write_text("what was there")
    os.chmod(kept, 0o644)
    private_file(kept)
    assert mode(kept) == FILE_MODE and kept.read_text() == "what was there"


def test_tighten_skips_what_does_not_exist(tmp_path: Path) -> None:
    there = tmp_path / "appendonly.aof"
    there.write_bytes(b"")
    os.chmod(there, 0o644)
    tighten(there, tmp_path / "not-yet")
    assert mode(there) == FILE_MODE and not (tmp_path / "not-yet").exists()
