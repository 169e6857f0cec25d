"""A call's audio for the supervisors who hear it in the browser: one Twilio Media Stream per
call, started on its first listener and stopped a grace period after its last (issue 26).

Twilio's side (https://www.twilio.com/docs/voice/api/stream-resource): a unidirectional
stream created through the SDK's Streams resource on the customer's leg, `both_tracks`:
the inbound track is the customer, the outbound track what the customer hears, the
conference without them, i.e. the agent (and a barging supervisor; a whisper is heard by
the agent alone, so it is not in it). The stream names its conference in a custom
parameter (`conference`), since Twilio's stream URL takes no query string (error 31920's
page, https://www.twilio.com/docs/api/errors/31920). Twilio offers Media Streams in US1,
IE1 and AU1 only (the notes on https://www.twilio.com/docs/voice/media-streams): with
TWILIO_REGION set to any other region, `available` is False, and the dashboard says so
and keeps Listen ringing the supervisor's phone.

Redis holds, under the floor's hash tag (several service processes share it):

- `{ep}:media`       hash ConferenceSid -> JSON `{st: starting|on, mz, call, at}`: the one
                     stream of a call; `HSETNX` decides which process starts it;
- `{ep}:ears`        who hears which call in a browser (live/ears.py), renewed by each
                     socket every few seconds (a process that dies leaves entries that
                     expire by themselves).

The once-a-second ticker (one process) stops a stream whose call has had no ear for
`grace_seconds`, and forgets the streams of ended calls (Twilio ends a stream with its call).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson

from coach.actions import agent_leg, live_or_refuse
from core.audit import Audit
from core.twilio_calls import TwilioCalls
from core.twilio_errors import CoachError
from live import ears as ears_module
from live.model import Json, customer_leg
from live.store import LiveFloor, now_ms, text

log = logging.getLogger("earpiece.media")

NAME = "earpiece-listen"  # the Name Earpiece gives its streams (a stop may use it)
GRACE_SECONDS = 10.0
STARTING_STALE_MS = 15_000  # a start that never finished (its process died) may be retried
# Regions that offer Media Streams (Twilio's pages name US1, IE1 and AU1).
STREAM_REGIONS = ("us1", "ie1", "au1")


def media_streams_available(region: str | None) -> bool:
    return region is None or region.lower() in STREAM_REGIONS


@dataclass
class MediaStreams:
    floor: LiveFloor
    twilio: TwilioCalls
    audit: Audit
    stream_url: str  # wss://…/twilio/media-stream
    grace_seconds: float = GRACE_SECONDS
    available: bool = True
    starts: int = 0
    stops: int = 0

    @property
    def _streams(self) -> str:
        return f"{self.floor.keys.tag}:media"

    # -- ears ---------------------------------------------------------------------------

    async def hear(self, sid: str, ear: str) -> None:
        """A browser (`supervisor/socket`) hears `sid`, for the next EAR_SECONDS."""
        await ears_module.hear(self.floor.redis, self.floor.keys, sid, ear)

    async def gone(self, sid: str, ear: str) -> None:
        await ears_module.gone(self.floor.redis, self.floor.keys, sid, ear)

    async def ears(self, sid: str) -> list[str]:
        """The supervisors hearing `sid` in a browser now (each once, sorted)."""
        found = await ears_module.every(self.floor.redis, self.floor.keys)
        return ears_module.people(found.get(sid, {}))

    # -- the stream ---------------------------------------------------------------------

    async def stream_of(self, sid: str) -> dict[str, Any] | None:
        raw: Any = await self.floor.redis.hget(self._streams, sid)
        return orjson.loads(raw) if raw else None

    async def ensure(self, sid: str) -> None:
        """Start the call's stream unless one runs or is starting (any process's)."""
        if not self.available:
            raise CoachError(
                409,
                "media-streams-unavailable",
                "Twilio offers Media Streams only in US1, IE1 and AU1: "
                "Listen rings your phone instead",
            )
        conference = live_or_refuse(sid, await self.floor.conference(sid))
        leg = customer_leg(conference)
        if leg is None:
            raise CoachError(409, "no-customer", "nobody to hear yet: no customer on this call")
        starting = orjson.dumps({"st": "starting", "at": now_ms()})
        if not await self.floor.redis.hsetnx(self._streams, sid, starting):
            found = await self.stream_of(sid) or {}
            stale = found.get("st") == "starting" and now_ms() - int(found.get("at") or 0) > (
                STARTING_STALE_MS
            )
            if not stale:
                return
            await self.floor.redis.hset(self._streams, sid, starting)
        try:
            made = await self.twilio.start_stream(
                leg,
                url=self.stream_url,
                track="both_tracks",
                name=NAME,
                parameter1_name="conference",
                parameter1_value=sid,
            )
        except CoachError:
            await self.floor.redis.hdel(self._streams, sid)
            raise
        self.starts += 1
        on = {"st": "on", "mz": str(made.sid), "call": leg, "at": now_ms()}
        await self.floor.redis.hset(self._streams, sid, orjson.dumps(on))
        log.info("started streaming %s (%s)", sid, made.sid)

    async def restart(self, sid: str, ended: str) -> None:
        """Twilio's stream `ended` of a live call ended while someone listens: start another.
        The entry is dropped only while it still names that stream, so that of several
        listeners told the same end, one starts the next stream and the others see it."""
        found = await self.stream_of(sid)
        if found is not None and found.get("st") == "on" and found.get("mz") == ended:
            await self.floor.redis.hdel(self._streams, sid)
        await self.ensure(sid)

    async def stop(self, sid: str, reason: str) -> None:
        found = await self.stream_of(sid)
        await self.floor.redis.hdel(self._streams, sid)
        if found and found.get("mz") and found.get("call"):
            try:
                await self.twilio.stop_stream(str(found["call"]), str(found["mz"]))
                self.stops += 1
            except CoachError as exc:
                log.warning("could not stop the stream of %s: %s", sid, exc.message)
        log.info("stopped streaming %s (%s)", sid, reason)

    # -- the pass -------------------------------------------------------------------------

    async def run_once(self, conferences: list[Json]) -> None:
        """Stop each stream whose call nobody has heard for the grace period; forget those
        of ended calls (Twilio stopped them with the call)."""
        raw: Any = await self.floor.redis.hgetall(self._streams)
        if not raw:
            return
        live = {c["sid"] for c in conferences if c.get("state") != "ended"}
        everyone = await ears_module.every(self.floor.redis, self.floor.keys)
        now = now_ms()
        for key, value in raw.items():
            sid = text(key)
            found = orjson.loads(value)
            if sid not in live:
                await self.floor.redis.hdel(self._streams, sid)
                continue
            if found.get("st") != "on":
                continue
            # An ear's entry is renewed every few seconds while its socket is open, and
            # removed when it closes: `heard` is kept while any ear is there.
            heard = max(int(found.get("at") or 0), int(found.get("heard") or 0))
            if everyone.get(sid):
                if now - int(found.get("heard") or 0) > 2000:
                    found["heard"] = now
                    await self.floor.redis.hset(self._streams, sid, orjson.dumps(found))
                continue
            if now - heard >= self.grace_seconds * 1000:
                await self.stop(sid, "nobody hears it")

    async def audit_listen(self, action: str, who: str, sid: str, detail: str) -> None:
        doc = await self.floor.read(sid)
        agent = agent_leg(doc) if doc is not None else None
        try:
            await self.audit.record(
                action,
                who,
                sid,
                mode="listen",
                friendly_name=(doc.get("friendly_name") if doc is not None else None) or "",
                agent=agent[1] if agent else "",
                detail=detail,
            )
        except Exception:  # the audit must never undo the action
            log.warning("could not audit %s on %s", action, sid, exc_info=True)
