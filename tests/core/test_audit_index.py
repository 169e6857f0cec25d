"""core/audit.py: a call's audit entries found by its index, the same as by a scan.

Issue 29: the archive (every ended call) and the call page (every rerun) found a call's
entries by scanning the whole stream, 6.5 us an entry. The index must find exactly what the
scan finds, and fall back to the scan for entries written before it began."""

from __future__ import annotations

import asyncio
import random
import uuid

from core.audit import Audit, AuditFilter
from core.keys import Keys
from core.redis_client import RedisTarget, async_client

CALLS = ["CF" + uuid.uuid4().hex for _ in range(4)]
PEOPLE = ["ana", "ken", "quincy"]


def test_the_index_finds_what_the_scan_finds(redis_target: RedisTarget) -> None:
    async def run() -> None:
        redis = async_client(redis_target)
        keys = Keys("ai" + uuid.uuid4().hex[:8])
        audit = Audit(redis, keys, retention_days=1)
        try:
            r = random.Random(29)
            for _ in range(120):
                await audit.record(r.choice(["join", "words-read", "leave"]), r.choice(PEOPLE),
                                   r.choice([*CALLS, ""]), agent=r.choice(["bob", ""]))  # fmt: skip
            ids = [e["id"] for e in await audit._scan(AuditFilter(limit=1000))]
            middle = int(ids[len(ids) // 2].split("-")[0])
            for sid in CALLS:
                for which in (
                    AuditFilter(conference_sid=sid, limit=1000),
                    AuditFilter(conference_sid=sid, limit=3),
                    AuditFilter(conference_sid=sid, supervisor="ken"),
                    AuditFilter(conference_sid=sid, since_ms=middle),
                    AuditFilter(conference_sid=sid, visible=lambda e: e["agent"] == "bob"),
                ):
                    indexed = await audit._indexed(sid, which.since_ms)
                    assert indexed is not None  # every entry was written with the index
                    assert await audit.entries(which) == await audit._scan(which)
                assert await audit.entries(AuditFilter(conference_sid=sid, limit=1000))
            # An entry the retention trimmed is skipped, not an error.
            victim = (await audit.entries(AuditFilter(conference_sid=CALLS[0])))[0]
            await redis.xdel(keys.audit, victim["id"])
            after = await audit.entries(AuditFilter(conference_sid=CALLS[0], limit=1000))
            assert victim["id"] not in [e["id"] for e in after]
            assert after == await audit._scan(AuditFilter(conference_sid=CALLS[0], limit=1000))
        finally:
            await redis.aclose()

    asyncio.run(run())


def test_entries_from_before_the_index_are_found_by_scanning(redis_target: RedisTarget) -> None:
    """A floor upgraded with its audit kept: the older entries are in no index."""

    async def run() -> None:
        redis = async_client(redis_target)
        keys = Keys("ai" + uuid.uuid4().hex[:8])
        audit = Audit(redis, keys, retention_days=1)
        sid = CALLS[0]
        try:
            # As the code before the index wrote it: the stream alone.
            old_id = await redis.xadd(keys.audit, {"action": "join", "supervisor": "ana",
                                                   "conference_sid": sid})  # fmt: skip
            await asyncio.sleep(0.01)
            await audit.record("leave", "ana", sid)
            found = await audit.entries(AuditFilter(conference_sid=sid))
            assert [e["action"] for e in found] == ["leave", "join"]
            assert await audit._indexed(sid, None) is None  # older entries kept: scan
            old_ms = int((old_id if isinstance(old_id, str) else old_id.decode()).split("-")[0])
            assert await audit._indexed(sid, old_ms) is None
            # From the index's start on, the index answers alone.
            index_start = await redis.get(keys.audit_indexed)
            assert index_start is not None
            began = int(index_start)
            assert began > old_ms
            assert [e["action"] for e in await audit._indexed(sid, began) or []] == ["leave"]
            since = await audit.entries(AuditFilter(conference_sid=sid, since_ms=began))
            assert [e["action"] for e in since] == ["leave"]
        finally:
            await redis.aclose()

    asyncio.run(run())
