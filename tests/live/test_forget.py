"""live/forget.py: a correction is forgotten by Redis's append-only file only once a rewrite
that started after it has succeeded.

Each test runs a redis-server of its own with an append-only file in a folder of its own
(the session's shared Redis must never have its folder taken away), and makes a rewrite
fail or be refused the way Redis itself does."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio

import live.forget
from core.embedded_redis import redis_binary
from live.forget import Forgetter
from tests.helpers import ServerThread

CLEAR = "my card is 5425 2334 3010 9903"
MASKED = "my card is [card number]"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    home = tmp_path / "home"
    home.mkdir()
    port = ServerThread.free_port()  # this worker's share: never another worker's Redis
    process = subprocess.Popen(
        [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "yes", "--dir", str(home), "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port, socket_timeout=2)
    try:
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            raise AssertionError(f"the test's own redis-server never answered on {port}")
        yield port, home
    finally:
        client.close()
        process.kill()
        process.wait()


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live.forget, "GATHER_SECONDS", 0.05)
    monkeypatch.setattr(live.forget, "MIN_INTERVAL_SECONDS", 0.2)
    monkeypatch.setattr(live.forget, "RETRY_SECONDS", 0.2)
    monkeypatch.setattr(live.forget, "POLL_SECONDS", 0.05)


def aof(home: Path) -> str:
    return (home / "appendonly.aof").read_bytes().decode("utf-8", "replace")


async def wait_for(predicate: Any, seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_a_failed_rewrite_is_tried_again(own_redis: tuple[int, Path], tmp_path: Path) -> None:
    port, home = own_redis

    async def run() -> None:
        client = redis.asyncio.Redis(port=port)
        try:
            await client.set("line", CLEAR)
            assert CLEAR in aof(home)
            # Redis writes a rewrite's new file in its working folder: a folder that is
            # gone makes the rewrite fail (the child cannot create its file), and Redis
            # keeps appending to the old file, which still holds the clear line.
            gone = tmp_path / "gone"
            gone.mkdir()
            await client.config_set("dir", str(gone))
            shutil.rmtree(gone)
            await client.set("line", MASKED)  # the correction
            forget = Forgetter(client)
            forget.soon()
            await wait_for(lambda: forget.failures >= 1)
            assert forget.pending and forget.rewrites == 0
            info = await client.info("persistence")
            assert info["aof_last_bgrewrite_status"] == "err"
            assert CLEAR in aof(home)
            await client.config_set("dir", str(home))  # the operator mends the disk
            await wait_for(lambda: not forget.pending)
            assert forget.rewrites == 1
            text = aof(home)
            assert MASKED in text and "5425 2334" not in text
        finally:
            await client.aclose()

    asyncio.run(run())


class RaceLoser:
    """A client that loses the race Redis allows between INFO and BGREWRITEAOF: another
    client's rewrite starts just before the Forgetter's own command, so Redis answers it
    "Background append only file rewriting already in progress"."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.raced = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    async def bgrewriteaof(self) -> Any:
        if not self.raced:
            self.raced = True
            await self.client.bgrewriteaof()  # somebody else's
        return await self.client.bgrewriteaof()


def test_a_refused_rewrite_waits_for_the_other_and_asks_again(
    own_redis: tuple[int, Path],
) -> None:
    port, home = own_redis

    async def run() -> None:
        client = redis.asyncio.Redis(port=port)
        try:
            await client.set("line", CLEAR)
            await client.set("line", MASKED)
            racing = RaceLoser(client)
            forget = Forgetter(racing)  # type: ignore[arg-type]
            forget.soon()
            await wait_for(lambda: not forget.pending)
            assert racing.raced
            # The other rewrite does not count: it may have begun before the correction.
            assert forget.rewrites == 1 and forget.failures == 0
            assert "5425 2334" not in aof(home)
        finally:
            await client.aclose()

    asyncio.run(run())


def test_without_an_append_only_file_nothing_is_pending(own_redis: tuple[int, Path]) -> None:
    port, _ = own_redis

    async def run() -> None:
        client = redis.asyncio.Redis(port=port)
        try:
            await client.config_set("appendonly", "no")
            forget = Forgetter(client)
            forget.soon()
            await forget.settled()
            assert not forget.pending and forget.rewrites == 0 and forget.failures == 0
        finally:
            await client.aclose()

    asyncio.run(run())
