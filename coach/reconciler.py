"""Never wrong for long: the floor in Redis, repaired from Twilio's own view.

Callbacks get lost (Twilio gives up after its retries, the service was down,
Redis restarted empty). Every EARPIECE_RECONCILE_SECONDS one process — the
one that takes the period's Redis lock, so several instances do not all ask
Twilio — lists Twilio's live conferences and their participants and repairs
the floor: what callbacks missed is added, what Twilio says has ended is
ended, flags that drifted are set. Each repair is counted on /metrics and
logged. A repair never undoes a newer callback (see live/repair.lua).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from coach.actions import Coach
from coach.taskrouter_repair import TaskRouterRepair
from core import metrics
from core.tasks import pause
from core.twilio_calls import TwilioCalls
from core.twilio_errors import CoachError
from live.events import ConferenceEvent
from live.store import LiveFloor, now_ms

log = logging.getLogger("earpiece.reconciler")

# Twilio's participant list per conference: a few at a time, not a burst.
CONCURRENCY = 4
# Twilio delivers a callback within about a second (and waits 15 s at most): a change at
# Twilio younger than this is left to its callbacks for one pass.
SETTLE_SECONDS = 3.0
LIVE_STATUSES = ("in-progress", "init")


@dataclass
class Pass:
    result: str  # done | skipped (another process holds this period) | failed
    repairs: Counter[str] = field(default_factory=Counter)
    conferences: int = 0
    settling: int = 0  # conferences left to their in-flight callbacks this pass

    def repaired(self, kind: str, n: int = 1) -> None:
        """Count a repair the moment it is written: the metric never lags the floor it
        explains (a reader who sees the repaired call sees it counted)."""
        if n:
            self.repairs[kind] += n
            metrics.RECONCILE_REPAIRS.labels(kind).inc(n)


def _ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


def participant_view(p: Any) -> dict[str, Any]:
    return {
        "call_sid": p.call_sid,
        "label": p.label or "",
        "muted": bool(p.muted),
        "hold": bool(p.hold),
        "coaching": bool(p.coaching),
        "coach": p.call_sid_to_coach or "",
        "eoe": bool(p.end_conference_on_exit),
        "joined": _ms(p.date_created) or now_ms(),
        "updated": _ms(p.date_updated) or now_ms(),
    }


class Reconciler:
    def __init__(
        self,
        floor: LiveFloor,
        twilio: TwilioCalls,
        coach: Coach,
        every: float,
        taskrouter: TaskRouterRepair | None = None,
    ) -> None:
        self.taskrouter = taskrouter  # with TWILIO_WORKSPACE_SID: the queues and agents too
        self.floor = floor
        self.twilio = twilio
        self.coach = coach
        self.every = every
        # How long after a change at Twilio its callbacks are waited for before a pass may
        # repair what they would have said: a repair then comes at most every + grace late.
        self.grace = SETTLE_SECONDS
        self.instance = secrets.token_hex(8)

    async def _claim(self) -> bool:
        """This period's pass, for one process only (the lock expires with the period)."""
        return bool(
            await self.floor.redis.set(
                self.floor.keys.lock("reconcile"),
                self.instance,
                nx=True,
                px=max(100, int(self.every * 1000 * 0.9)),
            )
        )

    async def run_once(self, *, force: bool = False) -> Pass:
        if not force and not await self._claim():
            return Pass("skipped")
        done = Pass("done")
        known = await self.floor.live_sids()
        # Read what Redis has *before* asking Twilio: a repair applies only if
        # nothing changed in between, so Twilio's answer is the newer one.
        seqs = await self.floor.sequence_numbers(known)
        listed: dict[str, Any] = {}
        for status in LIVE_STATUSES:
            for conference in await self.twilio.list_conferences(status):
                listed[conference.sid] = conference
        extra = [sid for sid in listed if sid not in seqs]
        seqs.update(await self.floor.sequence_numbers(extra))
        done.conferences = len(listed)
        gate = asyncio.Semaphore(CONCURRENCY)

        settled_before = now_ms() - int(self.grace * 1000)

        async def repair(sid: str, conference: Any) -> None:
            async with gate:
                people = await self.twilio.list_participants(sid)
            changes = [_ms(conference.date_updated), *(_ms(p.date_updated) for p in people)]
            if sid in seqs and any(c is not None and c > settled_before for c in changes):
                # Changed at Twilio a moment ago: its callbacks may still be on their way
                # (Twilio waits up to 15 s for one). Repairing now would "repair" what they
                # are about to say: a false repair. The next pass looks again.
                done.settling += 1
                return
            connected = [
                participant_view(p) for p in people if (p.status or "connected") == "connected"
            ]
            if sid in seqs and await self._left_just_now(sid, connected, settled_before):
                done.settling += 1
                return
            view: dict[str, Any] = {
                "sid": sid,
                "fn": conference.friendly_name or "",
                "started": _ms(conference.date_created) or now_ms(),
                "participants": connected,
            }
            outcome = await self.floor.repair(sid, seqs.get(sid, -1), view)
            if outcome.result == "repaired":
                for kind, n in outcome.repairs.items():
                    done.repaired(kind, n)
                log.info("reconciled %s with Twilio: %s", sid, _said(outcome.repairs))
            await self._monitors(sid, {p["call_sid"] for p in connected})

        await asyncio.gather(*(repair(sid, c) for sid, c in listed.items()))
        for sid in known:
            if sid not in listed and await self._ended_at_twilio(sid, seqs.get(sid, -1)):
                done.repaired("conference-ended")
        if self.taskrouter is not None:
            for kind, n in (await self.taskrouter.run_once()).items():
                done.repaired("taskrouter-" + kind, n)
        return done

    async def _left_just_now(
        self, sid: str, connected: list[dict[str, Any]], settled_before: int
    ) -> bool:
        """Whether someone Redis has on the call is gone at Twilio only since a moment ago.

        The conference was listed before its participants were: someone who left in
        between is missing from the list while the listed conference still looks
        settled, and their leave callback may not have landed yet (bench/truth.py found
        one such false removal in 30 clean minutes). Only when a removal is at stake is the
        conference fetched again, to see when it last changed."""
        doc = await self.floor.read(sid)
        at_twilio = {p["call_sid"] for p in connected}
        people = doc["participants"] if doc is not None else {}
        present = [c for c, p in people.items() if p.get("present")]
        if all(call in at_twilio for call in present):
            return False
        again = await self.twilio.fetch_conference(sid)
        changed = _ms(again.date_updated) if again is not None else None
        return changed is not None and changed > settled_before

    async def _ended_at_twilio(self, sid: str, seq: int) -> bool:
        """A conference Redis holds live that Twilio does not list: end it if Twilio says so."""
        conference = await self.twilio.fetch_conference(sid)
        if conference is not None and conference.status != "completed":
            return False  # still starting (init), or listed a moment too early
        if seq < 0:
            return False
        ended = _ms(conference.date_updated) if conference is not None else None
        if ended is not None and ended > now_ms() - int(self.grace * 1000):
            return False  # ended a moment ago: its conference-end is on its way
        event = ConferenceEvent(
            conference_sid=sid,
            friendly_name=conference.friendly_name if conference else "",
            event="conference-end",
            sequence=seq + 1,
            timestamp_ms=ended or now_ms(),
            reason="reconciled: Twilio has ended it"
            if conference
            else "reconciled: Twilio does not know it",
        )
        result = await self.floor.apply(event)
        if result.outcome == "applied":
            log.info("reconciled %s with Twilio: ended", sid)
            self.coach.react(event, result.monitors)
            return True
        return False

    async def _monitors(self, sid: str, at_twilio: set[str]) -> None:
        """A monitor whose leg Twilio no longer has is gone; one Twilio has connected is live."""
        doc = await self.floor.read(sid)
        for ident, monitor in (doc["monitors"] if doc is not None else {}).items():
            leg = monitor.get("call_sid")
            if not leg:
                continue
            if leg in at_twilio and monitor.get("status") != "connected":
                await self.coach.on_leg_joined(sid, ident, leg)
            elif leg not in at_twilio and monitor.get("status") == "connected":
                await self.coach.on_leg_left(
                    sid, ident, leg, "reconciled: Twilio no longer has the leg"
                )


def _said(repairs: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(repairs.items()))


async def run_forever(reconciler: Reconciler) -> None:
    while True:
        await pause(reconciler.every)
        try:
            outcome = await reconciler.run_once()
        except CoachError as exc:
            metrics.RECONCILE_RUNS.labels("failed").inc()
            log.warning("reconciling with Twilio failed: %s", exc.message)
            continue
        except Exception:
            metrics.RECONCILE_RUNS.labels("failed").inc()
            log.warning("reconciling with Twilio failed; will retry", exc_info=True)
            continue
        metrics.RECONCILE_RUNS.labels(outcome.result).inc()
