"""The one Redis client of a process: standalone or Cluster, embedded or not.

`connect()` is called once, in the app's lifespan (or at the start of a
command), and its client is closed there. With REDIS_URL unset it starts (or
joins) the embedded server of EARPIECE_DATA_DIR. A Redis Cluster is detected
from the server itself (`INFO cluster`), so the same REDIS_URL form works for
both: point it at any node of the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aredis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff
from redis.cluster import RedisCluster as SyncRedisCluster
from redis.connection import HiredisRespSerializer
from redis.utils import HIREDIS_AVAILABLE

if HIREDIS_AVAILABLE:
    from hiredis import pack_command as hiredis_pack

from core.embedded_redis import EmbeddedRedis
from core.settings import SettingError, Settings

AsyncRedis = aredis.Redis | AsyncRedisCluster
SyncRedis = redis.Redis | SyncRedisCluster

# Redis-side timeouts: a callback must never hang on a dead Redis (Twilio
# waits 15 s at most), so a lost server turns into a quick 503.
SOCKET_TIMEOUT_SECONDS = 5.0
RECONNECT_RETRIES = 1
CONNECT_TIMEOUT_SECONDS = 2.0
# A burst waits this long for a free connection instead of failing at once.
POOL_WAIT_SECONDS = 5.0


@dataclass
class RedisTarget:
    url: str
    cluster: bool
    embedded: EmbeddedRedis | None


def resolve(settings: Settings) -> RedisTarget:
    """Where this process's Redis is: REDIS_URL, or the embedded server (started if needed)."""
    if settings.redis_url is None:
        embedded = EmbeddedRedis(settings.data_dir)
        return RedisTarget(url=embedded.start(), cluster=False, embedded=embedded)
    return RedisTarget(
        url=settings.redis_url, cluster=_is_cluster(settings.redis_url), embedded=None
    )


def _is_cluster(url: str) -> bool:
    probe = redis.Redis.from_url(
        url, socket_timeout=SOCKET_TIMEOUT_SECONDS, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS
    )
    try:
        info: dict[str, Any] = probe.info("cluster")
    except redis.RedisError as exc:
        raise SettingError(f"REDIS_URL {url!r} does not answer: {exc}") from None
    finally:
        probe.close()
    return bool(info.get("cluster_enabled"))


_PACKED_CLASSES: dict[type[Any], type[Any]] = {}


def packed_in_c(connection_class: type[Any]) -> type[Any]:
    """`connection_class` with its commands packed by hiredis, in C.

    redis-py's asyncio connection packs a command in Python, joining the bytes so far
    with each argument: the cost grows with the square of the argument count. A batch
    of apply.lua (9 shared keys, 4 keys and 1 argument an event, 64 events at most)
    took ~100 us of the callback service's CPU to pack, several times the rest of the
    round trip's client side (issue 29's profile). The sync client already packs with
    hiredis (redis-py's HiredisRespSerializer); this gives the asyncio one the same
    serializer, so the bytes sent, and the errors for arguments Redis cannot take, are
    redis-py's own."""
    if not HIREDIS_AVAILABLE:
        return connection_class
    packed = _PACKED_CLASSES.get(connection_class)
    if packed is None:
        # (redis-py 8.2 left its __init__ unannotated; 8.1 had it typed)
        serializer = HiredisRespSerializer()  # type: ignore[no-untyped-call,unused-ignore]

        def pack_command(self: Any, *args: Any) -> list[bytes]:
            name = args[0]
            if (isinstance(name, str) and " " not in name) or (
                isinstance(name, bytes) and b" " not in name
            ):
                try:
                    return [hiredis_pack(args)]
                except TypeError:
                    pass  # a memoryview or a bytearray: the serializer converts them
            # A two-word command name ("SCRIPT LOAD") is split, as redis-py does.
            packed_args: list[bytes] = serializer.pack(*args)
            return packed_args

        packed = type(
            connection_class.__name__, (connection_class,), {"pack_command": pack_command}
        )
        _PACKED_CLASSES[connection_class] = packed
    return packed


def async_client(target: RedisTarget, max_connections: int = 64) -> AsyncRedis:
    options: dict[str, Any] = {
        "socket_timeout": SOCKET_TIMEOUT_SECONDS,
        "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
    }
    if target.cluster:
        return AsyncRedisCluster.from_url(target.url, max_connections=max_connections, **options)
    pool = aredis.BlockingConnectionPool.from_url(
        target.url,
        max_connections=max_connections,
        timeout=POOL_WAIT_SECONDS,
        # After Redis restarts, each pooled connection is dead; one quick retry on a
        # fresh connection makes that invisible instead of a 503 per stale connection.
        # Safe for what Earpiece sends: reads, and scripts that are idempotent
        # (apply.lua's SequenceNumber bitmap) or check state first (monitor.lua).
        retry=AsyncRetry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), RECONNECT_RETRIES),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        **options,
    )
    pool.connection_class = packed_in_c(pool.connection_class)
    return aredis.Redis(connection_pool=pool)


def sync_client(target: RedisTarget) -> SyncRedis:
    options: dict[str, Any] = {
        "socket_timeout": SOCKET_TIMEOUT_SECONDS,
        "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
    }
    if target.cluster:
        return SyncRedisCluster.from_url(target.url, **options)
    return redis.Redis.from_url(target.url, **options)
