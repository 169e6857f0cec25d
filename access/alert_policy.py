"""Which alerts a supervisor is told of, and when: once per call and cause, only for calls
they may act on (issue 28).

A lead of sales-east was toasted and chimed for billing calls she may not join, a
customer repeating "cancel my account" raised 27 toasts in 11 minutes (each repetition
a new `since`), and every reload replayed every toast (the "seen" set lived in the
Streamlit session). Here:

- a cue (a help request, a team phrase said) reaches a supervisor only for a call whose
  team they may join (`access.modes.refusal`, the one rule of who may act on a call);
- its cause is the call and what happened: a help request by its start (asking again
  after an answer is a new cause), a phrase by the phrase itself (saying it again is
  not), so a repetition never rings twice;
- what was announced is kept per supervisor in Redis (a set, `{ep}:cued:ID`, expiring
  a shift after its last write), so a reload, a second tab or another browser does not
  ring again. SADD answers per member whether it was new: one round trip, atomic, so two
  tabs of one supervisor cannot both announce the same cue. redis-py does it all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from access.modes import refusal
from core.redis_client import AsyncRedis
from live.roster import Supervisor

# How long an announced cue is remembered after the supervisor's last new one: a shift.
KEEP_SECONDS = 12 * 3600


def may_act(who: Supervisor, conference: Mapping[str, Any]) -> bool:
    """Whether `who` may join this call at all (listen is the least a supervisor can do)."""
    return refusal(who, "listen", conference.get("team")) is None


def actionable(who: Supervisor, conferences: Iterable[Mapping[str, Any]]) -> list[Any]:
    """The calls whose alerts are `who`'s to act on."""
    return [c for c in conferences if may_act(who, c)]


def cause(cue: Mapping[str, Any]) -> str:
    """A cue's identity: the call and what happened (live.board's help and phrase cues)."""
    if cue.get("phrase") is not None:
        return f"{cue['sid']}|phrase|{str(cue['phrase']).casefold()}"
    return f"{cue['sid']}|help|{cue.get('since') or ''}"


class CueLog:
    def __init__(self, redis: AsyncRedis, namespace: str, keep_seconds: int = KEEP_SECONDS):
        self.redis, self.tag, self.keep = redis, "{" + namespace + "}", keep_seconds

    def key(self, supervisor: str) -> str:
        return f"{self.tag}:cued:{supervisor}"

    async def first_time(self, supervisor: str, cues: Sequence[Mapping[str, Any]]) -> list[Any]:
        """The cues not announced to `supervisor` before, now marked announced."""
        if not cues:
            return []
        causes = [cause(c) for c in cues]
        key = self.key(supervisor)
        async with self.redis.pipeline(transaction=True) as pipe:
            for one in causes:
                pipe.sadd(key, one)
            pipe.expire(key, self.keep)
            added = await pipe.execute()
        fresh, seen = [], set()
        for cue, one, new in zip(cues, causes, added, strict=False):
            if new and one not in seen:
                fresh.append(cue)
            seen.add(one)
        return fresh
