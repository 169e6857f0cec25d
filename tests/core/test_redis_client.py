"""core/redis_client.py: the asyncio client's commands packed in C send redis-py's bytes."""

from __future__ import annotations

import pytest
from redis.asyncio.connection import Connection, UnixDomainSocketConnection
from redis.exceptions import DataError
from redis.typing import EncodableT

from core.redis_client import packed_in_c

COMMANDS = [
    ("GET", "{ep}:conf:CF1"),
    ("SET", "k", 1.5),
    ("SET", "k", -3),
    ("SET", "k", 10**20),
    ("SET", "k", "é"),
    ("SET", "k", b"\x00\xff"),
    ("SET", "k", memoryview(b"view")),
    ("SET", "k", bytearray(b"array")),
    ("SCRIPT LOAD", "return 1"),
    (b"CONFIG GET", "maxmemory"),
    ("EVALSHA", "a" * 40, 3, "{ep}:a", "{ep}:b", "{ep}:c", 20000, b'{"cf":"CF1"}' * 50),
]


@pytest.mark.parametrize("base", [Connection, UnixDomainSocketConnection])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: str(c[0]))
def test_a_command_packed_in_c_is_the_bytes_redis_py_sends(
    base: type[Connection], command: tuple[EncodableT, ...]
) -> None:
    fast = packed_in_c(base)()
    assert b"".join(fast.pack_command(*command)) == b"".join(base().pack_command(*command))


@pytest.mark.parametrize("value", [True, None, object()])
def test_an_argument_redis_cannot_take_is_redis_pys_data_error(value: object) -> None:
    with pytest.raises(DataError):
        packed_in_c(Connection)().pack_command("SET", "k", value)
