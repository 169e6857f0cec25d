"""`earpiece archive reindex`: an archive's search words made again (issue 23).

An archive written before Japanese search held each transcript as said, which
Japanese words cannot be found inside (archive/words.py); this remakes every
call's words with the analyser and rebuilds the index, in place, on the store
EARPIECE_ARCHIVE_URL names (SQLite by default). It can run beside the service:
calls archived meanwhile are already written the new way.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from archive.opening import open_store
from core import settings as settings_module


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    archive = sub.add_parser("archive", help="the archive of ended calls: reindex its words")
    archive.add_argument("action", choices=("reindex",))
    archive.set_defaults(run=reindex)


async def _reindex() -> tuple[int, float]:
    store = open_store(settings_module.load())
    started = time.perf_counter()
    try:
        changed = await store.reindex()
    finally:
        await store.close()
    return changed, time.perf_counter() - started


def reindex(args: argparse.Namespace) -> int:
    changed, seconds = asyncio.run(_reindex())
    print(f"reindexed the archive's words: {changed} calls with new words, {seconds:.1f} s")
    return 0
