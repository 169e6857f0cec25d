"""Callbacks that arrive after their call left the floor still belong to that call (issue 21).

Twilio's callbacks trail the hang-up: a transcription's last final is often sent after the
speaker's leg left (the engine settles the utterance the caller was in the middle of), and a
recording's `completed`, with its duration, only once Twilio has processed the file, which
can be well after the call ended (FIELD-NOTES; Twilio's "Getting Started with Recording
Status Callbacks", https://support.twilio.com/hc/en-us/articles/360014251313: "Call
recordings require post-processing, and may not always be ready right away when your call
ends"). Any of several service processes may receive them, so what finds their call lives
in Redis, never in a process's memory:

- `{ns}:left`: CallSid -> "<ConferenceSid> <label>", written by live/apply.lua when a leg
  leaves or its call ends, kept `left_seconds` (`{ns}:left:until`, pruned as calls end);
- `{ns}:sealed:<ConferenceSid>`: set by the archiver just before it reads an ended call
  (archive/archiver.py). A line or a recording state that lands after the seal is kept in
  Redis as before AND queued on `{ns}:late`, in the same script that applies it, so it is
  either in what the archiver read or on the queue (sometimes both: the archive's merge
  takes a line once, by its id). The archiver writes the queue into the archive's records.

Why a leg is remembered for the archive's settle period plus ten minutes (`left_seconds`):
the mapping must outlive the settle (EARPIECE_ARCHIVE_SETTLE_SECONDS, 5 s: until then a
late line joins the call in Redis) plus the time a final can trail a hang-up (a few
seconds) plus Twilio's own retries of a callback we could not take (bounded by the total
time of its connection overrides,
https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides: seconds to a
minute) plus an archiver that was briefly down. Ten minutes covers all of these several
times over, and keeps `{ns}:left` to the legs of the last ten minutes (a few thousand on a
300-seat floor). A recording's callbacks do not need it: a recording is found by its own
SID (coach/recording.py's index). The seal lasts as long as the floor keeps an ended call
(EARPIECE_HISTORY_SECONDS): a recording's `completed` may come that late and still reach
the archive.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

import orjson

from core.keys import Keys
from core.redis_client import AsyncRedis

LATE_GRACE_SECONDS = 600
# With the default settle (archive/archiver.py SETTLE_SECONDS).
LEFT_SECONDS = 5 + LATE_GRACE_SECONDS


def left_seconds(settle_seconds: float) -> int:
    """How long a leg that left is still found by its CallSid, for an archive that settles
    `settle_seconds` after a call's end."""
    return math.ceil(settle_seconds) + LATE_GRACE_SECONDS


async def left_call(redis: AsyncRedis, keys: Keys, call_sid: str) -> tuple[str, str] | None:
    """(ConferenceSid, label) of a leg that left lately (`left_seconds`), or None."""
    pipe = redis.pipeline(transaction=False)
    pipe.hget(keys.left, call_sid)
    pipe.zscore(keys.left_until, call_sid)
    found, until = await pipe.execute()
    if found is None or until is None or float(until) < time.time() * 1000:
        return None
    raw = found.decode() if isinstance(found, bytes) else str(found)
    conference, _, label = raw.partition(" ")
    return conference, label


async def seal(redis: AsyncRedis, keys: Keys, sids: Iterable[str], seconds: int) -> None:
    """From now on, what lands for each of `sids` is also queued for its archive record
    (one round trip: the archiver seals a pass's calls at once)."""
    pipe = redis.pipeline(transaction=False)
    for sid in sids:
        pipe.set(keys.sealed(sid), b"1", ex=max(1, seconds))
    await pipe.execute()


def late_entry(raw: Any) -> dict[str, Any] | None:
    """One queued change, or None for an entry that is not one (never a crash of the loop)."""
    try:
        entry = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("sid"), str):
        return None
    return entry
