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

A message on the channel is one or more frames, each one byte of kind (1 the customer:
Twilio's inbound track; 2 the agent: the outbound track; 3 the stream ended), two bytes of
length (big-endian) and the μ-law as Twilio sent it (20 ms: 160 bytes, base64 decoded
once, by the process holding Twilio's socket), after eight bytes naming the process that
published it. A browser receives the frames as they are: one WebSocket message per
message. The process holding Twilio's socket hands its own browsers each message
directly, without the round trip through Redis (one hop less: bench/listen.py), and
skips its own messages when they come back on its subscription.

Batching, because a call is 100 frames a second: the process holding Twilio's socket
publishes whatever arrived while its last publish was on its way in one pipeline, as one
message (`Publisher`); a browser's socket sends whatever its queue holds as one message.
Awaiting one round trip to Redis per frame made a socket fall behind Twilio under load
(bench/listen.py measured seconds of delay at 30 calls on a busy machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import RedisError

from core.redis_client import AsyncRedis

log = logging.getLogger("earpiece.audio")

CUSTOMER = 1
AGENT = 2
ENDED = 3
TRACK_KIND = {"inbound": CUSTOMER, "outbound": AGENT}
ORIGIN_BYTES = 8  # which process published a message: its own skip the round trip
QUEUE_MESSAGES = 50  # about half a second of both tracks: older audio is dropped beyond it


def frame(kind: int, payload: bytes) -> bytes:
    return bytes((kind,)) + len(payload).to_bytes(2, "big") + payload


def frames(message: bytes) -> list[tuple[int, bytes]]:
    """The (kind, payload) of each frame in one message (an ENDED frame's payload is the
    SID of the stream that ended)."""
    out, at = [], 0
    while at + 3 <= len(message):
        length = int.from_bytes(message[at + 1 : at + 3], "big")
        out.append((message[at], message[at + 3 : at + 3 + length]))
        at += 3 + length
    return out


class Publisher:
    """One Twilio socket's frames to its call's channel: what arrives while a publish is
    on its way goes out with the next one, in one message."""

    def __init__(self, relay: AudioRelay, sid: str) -> None:
        self.relay = relay
        self.sid = sid
        self.pending: list[bytes] = []
        self.wake = asyncio.Event()
        self.task = asyncio.create_task(self._run(), name="earpiece-audio-publish")
        self.failed: BaseException | None = None

    def put(self, data: bytes) -> None:
        if self.failed is not None:
            raise self.failed
        self.pending.append(data)
        if len(self.pending) > QUEUE_MESSAGES:  # Redis is away: keep only the newest
            del self.pending[: len(self.pending) - QUEUE_MESSAGES]
        self.wake.set()

    async def _run(self) -> None:
        try:
            while True:
                await self.wake.wait()
                self.wake.clear()
                if self.pending:
                    batch, self.pending = b"".join(self.pending), []
                    await self.relay.publish_raw(self.sid, batch)
        except (RedisError, OSError) as exc:
            self.failed = exc

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task
        if self.pending:
            with contextlib.suppress(RedisError, OSError):
                await self.relay.publish_raw(self.sid, b"".join(self.pending))


@dataclass(eq=False)
class Ear:
    """One browser's queue of frames for one call."""

    sid: str
    queue: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(QUEUE_MESSAGES))
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
        self.origin = secrets.token_bytes(ORIGIN_BYTES)
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def channel(self, sid: str) -> str:
        return f"{self.tag}:audio:{sid}"

    async def publish(self, sid: str, kind: int, payload: bytes) -> None:
        await self.publish_raw(sid, frame(kind, payload))

    async def publish_raw(self, sid: str, message: bytes) -> None:
        """To this process's browsers at once, and through Redis to the other processes'
        (they know this process's own messages by its origin, and skip them)."""
        self.published += 1
        self._deliver(sid, message)
        await self.redis.publish(self.channel(sid), self.origin + message)

    def _deliver(self, sid: str, message: bytes) -> None:
        for ear in tuple(self.ears.get(sid, ())):
            ear.put(message)
            self.delivered += 1

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
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=1.0
                )
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
            if data[:ORIGIN_BYTES] != self.origin:  # this process's own went out directly
                self._deliver(sid, data[ORIGIN_BYTES:])

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
