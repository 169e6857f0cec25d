"""Data on disk for Earpiece's own user only: folders 0700, files 0600, from the start."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from core.private_files import DIR_MODE, FILE_MODE, private_dir, private_file, tighten


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


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
