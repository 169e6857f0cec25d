"""Ending the calls nobody should be left on (FIELD-NOTES 2 and 4).

A customer left alone after the agent hung up, or an agent alone in a
conference (the customer left, or a busy answer gave the agent a conference
of their own), stays connected to silence until someone ends it. So does the
lone half of a FriendlyName that is live twice. The floor shows them at once
(`customer-alone`, `agent-alone`, `duplicate` alerts, live/model.py); after
EARPIECE_ORPHAN_SECONDS (a duplicate: EARPIECE_DUPLICATE_SECONDS) the guard
ends the conference through Twilio's API, and the audit says so. It runs in
the service's once-a-second loop (one process per tick, live/ticker.py), and
each end is claimed once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from core import metrics
from core.audit import Audit
from core.times import ms_of
from core.twilio_calls import TwilioCalls
from core.twilio_errors import CoachError
from live.store import LiveFloor, now_ms

log = logging.getLogger("earpiece.guard")

CLAIM_SECONDS = 60  # a failed end is tried again after this
WHO = "earpiece"  # the audit's "supervisor" for what Earpiece does on its own


@dataclass(frozen=True)
class GuardPolicy:
    end_orphans: bool = True
    orphan_seconds: float = 20.0
    end_duplicates: bool = True
    duplicate_seconds: float = 5.0


def _ms(iso: str | None) -> int | None:
    if not iso:
        return None
    return ms_of(iso)


def why_end(c: dict[str, Any], now: int, policy: GuardPolicy) -> str | None:
    """Why the guard ends this live conference now, or None."""
    alerts = c.get("alerts") or ()
    alone = _ms(c.get("alone_since"))
    if policy.end_orphans and alone is not None and now - alone >= policy.orphan_seconds * 1000:
        kind = next((a for a in alerts if a in ("customer-alone", "agent-alone")), "alone")
        return f"{kind} for {(now - alone) / 1000:.0f} s"
    if policy.end_duplicates and "duplicate" in alerts:
        joined = _ms((c.get("participants") or [{}])[0].get("joined_at"))
        if joined is not None and now - joined >= policy.duplicate_seconds * 1000:
            return f"a duplicate of {c.get('friendly_name')!r} holding one participant"
    return None


class Guard:
    def __init__(
        self, floor: LiveFloor, twilio: TwilioCalls, audit: Audit, policy: GuardPolicy
    ) -> None:
        self.floor = floor
        self.twilio = twilio
        self.audit = audit
        self.policy = policy

    async def run_once(
        self, conferences: list[dict[str, Any]] | None = None
    ) -> list[tuple[str, str]]:
        """End what needs ending now; returns (sid, why) of each conference ended.

        `conferences`: the floor as the caller just read it (the service's
        once-a-second loop reads it once for the ticker and the guard)."""
        if not (self.policy.end_orphans or self.policy.end_duplicates):
            return []
        redis, keys = self.floor.redis, self.floor.keys
        now = now_ms()
        ended = []
        if conferences is None:
            conferences = await self.floor.conferences()
        for c in conferences:
            why = why_end(c, now, self.policy)
            if why is None or not await redis.set(
                keys.ending(c["sid"]), b"1", nx=True, ex=CLAIM_SECONDS
            ):
                continue
            kind = "duplicate" if "duplicate" in why else "orphan"
            try:
                await self.twilio.end_conference(c["sid"])
            except CoachError as exc:
                log.warning("could not end %s (%s): %s", c["sid"], why, exc.message)
                await self.audit.record(
                    "end",
                    WHO,
                    c["sid"],
                    outcome="failed",
                    friendly_name=c["friendly_name"],
                    agent=c["agent"] or "",
                    detail=f"{why}: {exc.message}",
                )
                continue
            log.info("ended %s: %s", c["sid"], why)
            metrics.GUARD_ENDS.labels(kind).inc()
            await self.audit.record(
                "end",
                WHO,
                c["sid"],
                friendly_name=c["friendly_name"],
                agent=c["agent"] or "",
                detail=why,
            )
            ended.append((c["sid"], why))
        return ended
