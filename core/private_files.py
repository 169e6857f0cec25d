"""Data on disk readable by Earpiece's own user only: folders 0700, files 0600.

The archive holds what callers said and who listened; Redis's append-only
file holds the live floor and sessions. With the default umask (022) both
were 0644, readable by every local user. Folders are made (or tightened) to
0700, files are created 0600 from the start (`os.open` with the mode, not a
chmod after the fact: no moment when another user could open them), and an
existing installation's files are tightened when Earpiece next opens them.
The standard library does all of it; nothing to add.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
# For a child process that writes its own files (the embedded Redis): what it creates is
# ours alone whatever mode it asks for.
UMASK = 0o077


def private_dir(path: Path) -> Path:
    """`path` and any missing parents made, `path` itself 0700 (an existing one tightened)."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """`path` exists (created empty if missing) with mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path


def tighten(*paths: Path) -> None:
    """Mode 0600 for those of `paths` that exist (files another program made)."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path, FILE_MODE)
