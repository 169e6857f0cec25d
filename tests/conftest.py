"""Shared fixtures: a real Redis, settings, the app, a real HTTP server, signed callbacks.

Redis: REDIS_URL when set (any standalone Redis or a Cluster), else an
embedded server started for this test session in a temporary folder. Each
test gets its own namespace, so tests never see each other's floors.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from earpiece.embedded_redis import EmbeddedRedis
from earpiece.redis_client import RedisTarget, _is_cluster
from earpiece.settings import Settings, load
from tests.helpers import ServerThread

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
API_TOKEN = "test-api-token"


@pytest.fixture(scope="session")
def redis_target() -> Iterator[RedisTarget]:
    url = os.environ.get("REDIS_URL")
    if url:
        yield RedisTarget(url=url, cluster=_is_cluster(url), embedded=None)
        return
    folder = Path(tempfile.mkdtemp(prefix="ep-test-", dir="/tmp"))
    embedded = EmbeddedRedis(folder)
    embedded.start()
    yield RedisTarget(url=embedded.url, cluster=False, embedded=None)
    embedded.release()
    embedded.shutdown()
    shutil.rmtree(folder, ignore_errors=True)


_ports = itertools.count(0)


@pytest.fixture
def namespace() -> str:
    return "t" + uuid.uuid4().hex[:12]


def make_settings(redis_url: str, namespace: str, public_base_url: str, **extra: str) -> Settings:
    env = {
        "REDIS_URL": redis_url,
        "EARPIECE_NAMESPACE": namespace,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "PUBLIC_BASE_URL": public_base_url,
        "EARPIECE_API_TOKEN": API_TOKEN,
        **extra,
    }
    return load(env, env_file=None)


@pytest.fixture
def settings(redis_target: RedisTarget, namespace: str) -> Settings:
    return make_settings(redis_target.url, namespace, "https://earpiece.example.com")


@pytest.fixture
def server(redis_target: RedisTarget, namespace: str) -> Iterator[ServerThread]:
    """The callback service on a real port, in a thread of this process."""
    from callbacks.app import create_app

    port = ServerThread.free_port()
    settings = make_settings(
        redis_target.url,
        namespace,
        f"http://127.0.0.1:{port}",
        EARPIECE_SSE_PING_SECONDS="1",
    )
    thread = ServerThread(create_app(settings, redis_target), port, settings)
    thread.start()
    yield thread
    thread.stop()
