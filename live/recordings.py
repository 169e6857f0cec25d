"""A call's recordings in Redis: each status change applied by live/recording.lua, forward only.

Twilio's recording status callbacks arrive late and out of order, and any service process
may take them: the rule (in-progress and paused, then stopped, processing, and one end:
completed, absent or failed) is applied in one script, atomically, so two processes taking
`completed` and a retried `in-progress` at once still end at `completed`. Once the archiver
has read the call, the script also queues the recording's new state for its archive record
(live/late.py), so QA sees the end and the duration however late they came.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from core.keys import Keys
from core.redis_client import AsyncRedis
from live.scripts import script
from live.store import text

RECORDING_LUA = script("recording.lua")
# Twilio's recording statuses, in the order a recording goes through them (the Recording
# resource's `status`; `failed` on an encryption failure: Twilio's "Getting Started with
# Recording Status Callbacks", https://support.twilio.com/hc/en-us/articles/360014251313).
STATUSES = ("in-progress", "paused", "stopped", "processing", "completed", "absent", "failed")
ENDED = frozenset({"completed", "absent", "failed"})


class RecordingStates:
    def __init__(self, redis: AsyncRedis, keys: Keys, keep_seconds: int) -> None:
        self.redis = redis
        self.keys = keys
        self.keep_seconds = keep_seconds
        self._script = redis.register_script(RECORDING_LUA)

    @property
    def index(self) -> str:
        """RecordingSid -> ConferenceSid: a recording's callbacks find their call after its
        legs have left the floor. Each entry is kept as long as its call's recordings
        (`keep_seconds` after its last change) and then pruned: a field of a hash has no
        expiry of its own before Redis 7.4, and the index must not grow by every recording
        the floor ever made."""
        return self.keys.recording_index

    async def note(self, sid: str, recording: dict[str, Any], now_ms: int | None = None) -> str:
        """Apply what is known of a recording of conference `sid` (its `sid` and any of
        status, duration, ...; None values are not known): applied | archived | stale |
        unchanged."""
        known = {k: v for k, v in recording.items() if v is not None}
        keys = [
            self.keys.recordings(sid),
            self.index,
            self.keys.sealed(sid),
            self.keys.late,
            self.keys.recording_index_until,
        ]
        at_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        args: list[bytes | int | str] = [orjson.dumps(known), self.keep_seconds, sid, at_ms]
        outcome = await self._script(keys=keys, args=args)
        return text(outcome)

    async def conference_of(self, recording_sid: str) -> str | None:
        found = await self.redis.hget(self.index, recording_sid)
        return text(found) if found is not None else None
