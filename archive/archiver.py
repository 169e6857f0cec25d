"""Ended calls, from the live floor to the archive: once each, off the callback's path.

live/apply.lua puts every conference that ends (by its callback, or by the
reconciler when that callback was lost) in `{ns}:ended` with its end time, in
the same script that ends it: the end callback pays one ZADD. A few seconds
later (SETTLE_SECONDS: the participants' leaves, the last transcript lines and
the supervisors' leaves that trail an end land meanwhile) one process at a
time (a Redis lock) gathers what the floor knew (the ended document, its
transcript, timeline, audit entries, alerts raised, recordings) and writes one
record. The store ignores a second write of the same call, so a crash between
writing and forgetting it, or two processes, still archive it exactly once.

What comes after (issue 21): the archiver seals a call (`{ns}:sealed:CF…`, live/late.py)
before it reads it, so a final line or a recording state that lands later is queued on
`{ns}:late` by the very script that applies it. Each pass then writes the queue into the
archive's records (`Store.amend`: the line once, the words searchable, the recording's
newest state). An entry whose call is not in the archive (yet) waits, for the floor's
`left_seconds` at most: a call that could not be archived does not hold the queue forever.

The same loop enforces retention: once an hour, what ended more than
EARPIECE_ARCHIVE_RETENTION_DAYS ago is deleted, recordings at Twilio included.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.exceptions import RedisError

from archive.record import build
from archive.store import Store
from core.audit import Audit, AuditFilter
from core.tasks import pause
from core.twilio_calls import TwilioCalls
from core.twilio_errors import CoachError
from live.late import late_entry, seal
from live.model import Json
from live.roster import Roster
from live.store import LiveFloor, now_ms, text
from live.team_time import TeamTime, totals_of
from live.transcript import Transcripts
from live.transcript_view import line_json

log = logging.getLogger("earpiece.archive")

SETTLE_SECONDS = 5.0
BATCH = 100
# Late changes written per pass, at most (the rest wait for the next pass, a second later).
LATE_BATCH = 500
EVERY_SECONDS = 1.0
RETENTION_EVERY_SECONDS = 3600.0
# Each team's time per half hour is copied from Redis this often (the Day page reads Redis
# first: the copy is what outlives Redis's three days, or Redis itself).
TEAM_COPY_EVERY_SECONDS = 60.0


async def copy_team_time(team_time: TeamTime, store: Store) -> int:
    """Copy every day's team totals Redis holds into the archive (live/team_time.py): each
    written with its value, so a second copy changes nothing. The days copied."""
    copied = 0
    for day in await team_time.days():
        fields = await team_time.day_fields(day)
        if not fields:  # gone from Redis: the archive keeps its last copy
            await team_time.forget_day(day)
            continue
        await store.put_team_slots(day, totals_of(fields))
        copied += 1
    return copied


@dataclass
class Archiver:
    floor: LiveFloor
    transcripts: Transcripts
    audit: Audit
    store: Store
    roster: Roster
    twilio: TwilioCalls | None = None
    retention_days: int = 90
    settle_seconds: float = SETTLE_SECONDS
    # The floor's country: a number kept masked is written as the API shows it (core/phone.py).
    country: str | None = None
    team_time: TeamTime | None = None
    archived: int = 0
    _forgot_at: float = field(default=0.0)
    _copied_at: float = field(default=0.0)

    async def gather(self, sid: str) -> Any | None:
        doc = await self.floor.read(sid)
        if doc is None or doc.get("status") != "completed":
            return None
        redis, keys = self.floor.redis, self.floor.keys
        started = int(doc.get("started") or 0)
        audit = await self.audit.entries(
            AuditFilter(conference_sid=sid, since_ms=max(0, started - 60_000), limit=1000)
        )
        raised: Any = await redis.smembers(keys.raised(sid))
        recordings: Any = await redis.hgetall(keys.recordings(sid))
        timeline = [
            {"at": e.at, "event": e.event, "who": e.who, "text": e.text}
            for e in await self.floor.timeline(sid)
        ]
        return build(
            doc,
            self.roster,
            transcript=await self.transcripts.lines(sid),
            timeline=timeline,
            audit=audit,
            alerts=(text(a) for a in raised),
            recordings=sorted(
                (orjson.loads(v) for v in recordings.values()),
                key=lambda r: r.get("started_at") or "",
            ),
            country=self.country,
        )

    async def run_once(self) -> int:
        """Archive the calls that ended at least `settle_seconds` ago; how many were new."""
        redis, keys = self.floor.redis, self.floor.keys
        due: Any = await redis.zrangebyscore(
            keys.ended, 0, now_ms() - int(self.settle_seconds * 1000), start=0, num=BATCH
        )
        sids = [text(raw) for raw in due]
        written = 0
        if sids:
            # Sealed first: whatever lands after is queued, so none of it falls between these
            # reads and the records (live/late.py).
            await seal(redis, keys, sids, self.floor.history_seconds)
            records = [record for sid in sids if (record := await self.gather(sid)) is not None]
            # The pass's calls in one transaction (issue 29: one a call, each with its own
            # thread hop, was most of the archive's cost); a failure leaves every one of them
            # due, and a repeat writes nothing twice.
            written = sum(await self.store.put_all(records))
            pipe = redis.pipeline(transaction=False)
            for sid in sids:
                pipe.zrem(keys.ended, sid)
                pipe.delete(keys.raised(sid))
            await pipe.execute()
        self.archived += written
        await self.amend_late()
        return written

    async def amend_late(self) -> int:
        """Write the late lines and recording states (live/late.py) into the archive's records;
        how many changes were written."""
        redis, keys = self.floor.redis, self.floor.keys
        raw: Any = await redis.lpop(keys.late, LATE_BATCH)
        if not raw:
            return 0
        calls: dict[str, tuple[list[Json], dict[str, Json], list[Any]]] = {}
        for original in raw:
            entry = late_entry(original)
            if entry is None:
                continue
            lines, recordings, queued = calls.setdefault(entry["sid"], ([], {}, []))
            if entry.get("k") == "line" and isinstance(entry.get("line"), dict):
                lines.append(line_json(entry["line"]))
            elif entry.get("k") == "recording" and isinstance(entry.get("recording"), dict):
                recording = entry["recording"]
                recordings[str(recording.get("sid"))] = recording  # the newest state is last
            queued.append(original)
        written, waiting = 0, []
        for sid, (lines, recordings, queued) in calls.items():
            try:
                amended = await self.store.amend(sid, lines, list(recordings.values()))
            except Exception:
                # The store is away: these wait for the next pass, nothing is lost.
                log.warning("late changes of %s not written yet", sid, exc_info=True)
                waiting += queued
                continue
            if amended:
                written += len(queued)
                continue
            if await redis.zscore(keys.ended, sid) is not None:
                waiting += queued  # not archived yet (its write failed): the next pass
            elif await self._sealed_lately(sid):
                waiting += queued  # its record may be on its way
            else:
                log.info("late changes of %s dropped: the call is not in the archive", sid)
        if waiting:
            # Back at the head, in their order: a call's changes stay in the order they were
            # applied (its recordings' newest state is the last one queued).
            await redis.lpush(keys.late, *reversed(waiting))
        return written

    async def copy_team_time(self) -> int:
        return 0 if self.team_time is None else await copy_team_time(self.team_time, self.store)

    async def _sealed_lately(self, sid: str) -> bool:
        """Sealed less than `left_seconds` ago (the seal lasts `history_seconds`)."""
        left: Any = await self.floor.redis.ttl(self.floor.keys.sealed(sid))
        return int(left) > self.floor.history_seconds - self.floor.left_seconds

    async def forget_old(self) -> int:
        """Retention: delete what ended more than `retention_days` ago, and its recordings."""
        cutoff = now_ms() - self.retention_days * 86_400_000
        recordings = await self.store.forget_before(cutoff)
        for recording in recordings:
            if self.twilio is None or not recording.get("sid"):
                continue
            try:
                await self.twilio.delete_recording(str(recording["sid"]))
            except CoachError as exc:
                log.warning("retention: Twilio kept recording %s: %s", recording["sid"], exc)
        return len(recordings)

    async def run_forever(self) -> None:
        lock = self.floor.keys.lock("archive")
        while True:
            await pause(EVERY_SECONDS)
            try:
                if not await self.floor.redis.set(lock, b"1", nx=True, px=int(EVERY_SECONDS * 900)):
                    continue
                await self.run_once()
                if time.monotonic() - self._copied_at > TEAM_COPY_EVERY_SECONDS:
                    self._copied_at = time.monotonic()
                    await self.copy_team_time()
                if time.monotonic() - self._forgot_at > RETENTION_EVERY_SECONDS:
                    self._forgot_at = time.monotonic()
                    await self.forget_old()
            except RedisError as exc:
                log.info("the archive could not run: %s", exc)
            except Exception:
                log.warning("the archive failed; will retry", exc_info=True)
