"""Which store keeps the archive, from EARPIECE_ARCHIVE_URL.

Apart from archive/store.py (the Store protocol and the query types both stores import),
so that neither store imports the module that chooses between them: no import circle.
"""

from __future__ import annotations

from pathlib import Path

from archive.sqlite_store import SqliteStore
from archive.store import Store
from core.private_files import private_dir
from core.settings import SettingError, Settings


def open_store(settings: Settings) -> Store:
    url = settings.archive_url
    if url is None or url.startswith("sqlite:"):
        default = private_dir(settings.data_dir) / "archive.sqlite3"
        return SqliteStore(Path(url.removeprefix("sqlite:///")) if url else default)
    if url.startswith(("postgresql://", "postgres://")):
        # Here, not at the top: a floor on SQLite never loads psycopg.
        from archive.postgres_store import PostgresStore

        return PostgresStore(url)
    raise SettingError(
        f"EARPIECE_ARCHIVE_URL must be sqlite:///PATH or postgresql://…, got {url[:40]!r}"
    )
