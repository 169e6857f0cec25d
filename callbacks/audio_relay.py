"""A call's audio from Twilio's socket to the browsers that hear it, through Redis (issue 26).

Twilio's WebSocket for a call and a supervisor's browser may reach different service
processes, so each frame goes through Redis **pub/sub** on `{ep}:audio:CF…`:

- pub/sub keeps nothing: a frame lives in Redis only while it is handed on, so no
  audio reaches Redis's persistence (an RDB snapshot or the AOF would write a Stream's
  entries to disk; a published message is never written). A listener that joins hears
  from now on, which is what a listener wants;
- a process subscribes to a call's channel only while one of its browsers hears that
  call, on one connection for all of them (one reader task), and fans each frame out to
  its browsers' bounded queues. A browser that cannot keep up loses its oldest frames,
  never delays the others (audio late is audio lost).

A frame on the channel is one byte of kind (1 the customer: Twilio's inbound track;
2 the agent: the outbound track; 3 the stream ended) and the 20 ms of μ-law as Twilio
sent them (160 bytes, base64 decoded once, by the process holding Twilio's socket).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import RedisError

from earpiece.redis_client import AsyncRedis

log = logging.getLogger("earpiece.audio")

CUSTOMER = 1
AGENT = 2
ENDED = 3
TRACK_KIND = {"inbound": CUSTOMER, "outbound": AGENT}
QUEUE_FRAMES = 50  # one second of both tracks: older frames are dropped beyond it


@dataclass(eq=False)
class Ear:
    """One browser's queue of frames for one call."""

    sid: str
    queue: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(QUEUE_FRAMES))
    dropped: int = 0

    def put(self, frame: bytes) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
                self.dropped += 1
        self.queue.put_nowait(frame)


class AudioRelay:
    def __init__(self, redis: AsyncRedis, tag: str) -> None:
        self.redis = redis
        self.tag = tag
        self.ears: dict[str, set[Ear]] = {}
        self.published = 0
        self.delivered = 0
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def channel(self, sid: str) -> str:
        return f"{self.tag}:audio:{sid}"

    async def publish(self, sid: str, kind: int, payload: bytes) -> None:
        self.published += 1
        await self.redis.publish(self.channel(sid), bytes((kind,)) + payload)

    async def subscribe(self, sid: str) -> Ear:
        ear = Ear(sid)
        async with self._lock:
            if self._pubsub is None:
                self._pubsub = self.redis.pubsub()
            first = sid not in self.ears
            self.ears.setdefault(sid, set()).add(ear)
            if first:
                await self._pubsub.subscribe(self.channel(sid))
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read(), name="earpiece-audio-relay")
        return ear

    async def unsubscribe(self, ear: Ear) -> None:
        async with self._lock:
            found = self.ears.get(ear.sid)
            if found is None:
                return
            found.discard(ear)
            if not found:
                del self.ears[ear.sid]
                if self._pubsub is not None:
                    with contextlib.suppress(RedisError, OSError):
                        await self._pubsub.unsubscribe(self.channel(ear.sid))

    async def _read(self) -> None:
        prefix = len(self.tag) + len(":audio:")
        while self.ears:
            try:
                message = await self._pubsub.get_message(ignore_subscribe_messages=True,
                                                          timeout=1.0)  # fmt: skip
            except (RedisError, OSError) as exc:
                log.info("the audio relay lost Redis: %s; resubscribing", exc)
                await asyncio.sleep(0.5)
                with contextlib.suppress(RedisError, OSError):
                    async with self._lock:
                        await self._pubsub.reset()
                        self._pubsub = self.redis.pubsub()
                        for sid in self.ears:
                            await self._pubsub.subscribe(self.channel(sid))
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"]
            sid = (channel.decode() if isinstance(channel, bytes) else str(channel))[prefix:]
            data: bytes = message["data"]
            for ear in tuple(self.ears.get(sid, ())):
                ear.put(data)
                self.delivered += 1

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
