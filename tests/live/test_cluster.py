"""The live floor on a real Redis Cluster: three masters started inside the test.

Every key of a floor shares one hash tag, so the apply and monitor scripts,
MGET and the feed all stay in one slot; floors with different namespaces land
on different masters.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import pytest
import redis
from httpx_sse import connect_sse
from redis.cluster import ClusterNode, RedisCluster

from core.embedded_redis import redis_binary
from core.redis_client import RedisTarget, async_client, resolve
from earpiece.service import create_app
from tests.conftest import API_TOKEN, make_settings
from tests.helpers import Conference, ServerThread, post_signed, sid
from tests.live.test_script_keys import Floor, link_story

PATH = "/twilio/conference-events"


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    server = redis_binary()
    cli = str(Path(server).with_name("redis-cli"))
    folder = Path(tempfile.mkdtemp(prefix="ep-cluster-", dir="/tmp"))
    ports = _node_ports(3)
    for port in ports:
        node = folder / str(port)
        node.mkdir()
        subprocess.run(
            [server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
             "--cluster-config-file", str(node / "nodes.conf"), "--dir", str(node),
             "--save", "", "--appendonly", "no", "--daemonize", "yes",
             "--logfile", str(node / "redis.log")],
            check=True,
        )  # fmt: skip
    try:
        for port in ports:
            _wait(lambda port=port: redis.Redis(port=port).ping())
        subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True,
        )  # fmt: skip
        _wait(lambda: redis.Redis(port=ports[0]).cluster("info").get("cluster_state") == "ok")
        yield f"redis://127.0.0.1:{ports[0]}"
    finally:
        for port in ports:
            subprocess.run([cli, "-p", str(port), "shutdown", "nosave"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def _node_ports(count: int) -> list[int]:
    """Ports whose cluster bus port (port + 10000) is free too: an ephemeral port
    plus 10000 may be taken or past 65535. Both below Linux's ephemeral range
    (32768 up), so no client's outgoing connection takes one between the check here
    and the node's bind."""
    found: list[int] = []
    for port in random.sample(range(12000, 22000), 400):
        if all(_free(p) for p in (port, port + 10000)):
            found.append(port)
            if len(found) == count:
                return found
    raise RuntimeError("no free port pairs for a cluster")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _wait(predicate: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if predicate():  # type: ignore[operator]
                return
        except redis.RedisError:
            pass
        assert time.monotonic() < deadline, "the cluster did not come up"
        time.sleep(0.05)


def test_the_cluster_is_detected_from_the_server(cluster: str) -> None:
    target = resolve(make_settings(cluster, "ep", "http://x"))
    assert target.cluster is True


def test_floors_ingest_serve_and_resume_on_a_cluster(cluster: str) -> None:
    target = RedisTarget(cluster, True, None)
    masters_used = set()
    for namespace in ("east", "west", "apac"):
        port = ServerThread.free_port()
        settings = make_settings(cluster, namespace, f"http://127.0.0.1:{port}")
        service = ServerThread(create_app(settings, target), port, settings)
        service.start()
        try:
            conf = Conference()
            agent = sid("CA")
            events = [
                conf.event("participant-join", sid("CA"), ParticipantLabel="customer"),
                conf.event("conference-start"),
                conf.event("participant-join", agent, ParticipantLabel="agent:bob"),
                conf.event("participant-hold", agent, ParticipantLabel="agent:bob", Hold=True),
            ]
            with service.client(API_TOKEN) as http:
                with connect_sse(http, "GET", "/events") as source:
                    stream = source.iter_sse()
                    for params in events[:2]:
                        assert post_signed(http, settings, PATH, params).status_code == 204
                    first = [next(stream) for _ in range(2)]
                for params in events[2:]:
                    post_signed(http, settings, PATH, params)
                with connect_sse(http, "GET", "/events",
                                 headers={"Last-Event-ID": first[-1].id}) as source:  # fmt: skip
                    stream = source.iter_sse()
                    missed = [next(stream) for _ in range(2)]
                assert [len(json.loads(e.data)["participants"]) for e in missed] == [2, 2]
                [live] = http.get("/api/conferences").json()["conferences"]
                assert (live["sid"], live["state"]) == (conf.sid, "hold")
                assert http.get(f"/api/calls/{agent}").json()["conference_sid"] == conf.sid
        finally:
            service.stop()
        # redis-py leaves get_node_from_key unannotated: it gives the ClusterNode (or None).
        node_of = cast(
            Callable[[str], ClusterNode | None], RedisCluster.from_url(cluster).get_node_from_key
        )
        node = node_of("{" + namespace + "}")
        assert node is not None
        masters_used.add(node.port)
    assert len(masters_used) >= 2, "the three floors all landed on one master"


def test_queues_agents_and_task_conferences_on_a_cluster(cluster: str) -> None:
    """TaskRouter's scripts on a Cluster, behind the guard that fails a key not in KEYS: a
    task waits, moves queue, is answered and labels its conference
    (tests/live/test_script_keys.py)."""

    async def run() -> None:
        client = async_client(RedisTarget(cluster, True, None))
        try:
            await link_story(Floor(client))
        finally:
            await client.aclose()

    asyncio.run(run())
