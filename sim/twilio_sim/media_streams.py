"""Media Streams, as Twilio runs a unidirectional one on a live call (issue 26).

REST (twilio_api_v2010.json, "Calls/{CallSid}/Streams"; the Streams subresource page,
https://www.twilio.com/docs/voice/api/stream-resource):

- `POST /Calls/{CallSid}/Streams.json` (`Url` required; `Name`, `Track`
  inbound_track | outbound_track | both_tracks, `StatusCallback`, `Parameter{N}.Name/Value`)
  answers **200** (the OpenAPI file's only response) with the resource: sid `MZ…`,
  status `in-progress`;
- `POST /Calls/{CallSid}/Streams/{Sid}.json` with `Status=stopped` stops it; `Sid` may be
  the SID or the `Name` it was given.

Twilio then opens a WebSocket to `Url`, signed with `X-Twilio-Signature` over the URL
(https://www.twilio.com/docs/global-infrastructure/firewall-configurations/media-streams-configuration:
"validate the X-Twilio-Signature header"), and sends JSON text messages as on
https://www.twilio.com/docs/voice/media-streams/websocket-messages: `connected`
(`protocol` Call, `version` 1.0.0), `start` (`streamSid`, `callSid`, `tracks`,
`customParameters`, `mediaFormat` audio/x-mulaw 8000 Hz mono), one `media` per track
every 20 ms (`track` inbound | outbound, `chunk` from 1 per track, `timestamp` ms since
the stream began, `payload` base64 of 160 μ-law bytes), and `stop` when the stream is
stopped or the call ends. Every message carries a `sequenceNumber` counted from 1.

Twilio accepts only `wss://` (its error 31910); the simulator also connects to `ws://`,
because the tests' services listen without TLS on loopback.

What the simulator plays: on the customer's leg the inbound track is the customer, the
outbound track what the customer hears (the agent). Each track carries a test tone that
tells it apart (customer 440 Hz, agent 1000 Hz, at a low level), and while that party
speaks a dialogue line (the engine's `speaking`) a voiced buzz at that party's pitch,
shaped into syllables, so the demo has something to hear. No speech synthesiser is
installed on this machine (espeak-ng is not), so the "speech" is generated.
The sound is made with numpy (already installed with Streamlit): a one-second loop of
each signal, μ-law encoded once, sliced into frames.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from twilio_sim.engine import Engine, SimError
from twilio_sim.model import API_VERSION, is_sid, new_sid, rfc2822
from twilio_sim.rest import PREFIX, Form, endpoint, read_form, twilio_json

log = logging.getLogger("twilio_sim.media_streams")

TRACKS = ("inbound_track", "outbound_track", "both_tracks")
NOT_IN_PROGRESS = 21220
RATE = 8000
FRAME_SAMPLES = 160  # 20 ms at 8 kHz
FRAME_SECONDS = FRAME_SAMPLES / RATE
# The test tones: what a test's analyser looks for on each side.
CUSTOMER_HZ = 440
AGENT_HZ = 1000
# The voices' pitches while speaking: no harmonic of either lands within 45 Hz of a test
# tone, so an analyser tells the sides apart while they talk too.
CUSTOMER_PITCH_HZ = 190
AGENT_PITCH_HZ = 125


def mulaw(samples: np.ndarray[Any, Any]) -> bytes:
    """G.711 μ-law of float samples in [-1, 1] (the continuous formula, 8 bits)."""
    clipped = np.clip(samples, -1.0, 1.0)
    magnitude = np.log1p(255.0 * np.abs(clipped)) / np.log1p(255.0)
    signed = np.sign(clipped) * magnitude
    # Stored inverted, as G.711 sends it: 0xFF is +0, 0x7F is -0.
    code = np.round((signed + 1.0) / 2.0 * 255.0).astype(np.int16)
    out = np.where(code >= 128, 255 - (code - 128), code)
    return bytes(out.astype(np.uint8))


def _loop(tone_hz: int, pitch_hz: int | None) -> bytes:
    t = np.arange(RATE) / RATE
    tone = 0.12 * np.sin(2 * np.pi * tone_hz * t)
    if pitch_hz is None:
        return mulaw(tone)
    # A voiced buzz: the pitch and its first harmonics, shaped by a 4 Hz syllable envelope.
    voice = sum(np.sin(2 * np.pi * pitch_hz * k * t) / k for k in range(1, 6))
    syllables = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 0.7
    return mulaw(tone + 0.45 * syllables * voice / 2.3)


@dataclass(frozen=True)
class Sounds:
    quiet: bytes
    speaking: bytes


SOUNDS = {
    "inbound": Sounds(_loop(CUSTOMER_HZ, None), _loop(CUSTOMER_HZ, CUSTOMER_PITCH_HZ)),
    "outbound": Sounds(_loop(AGENT_HZ, None), _loop(AGENT_HZ, AGENT_PITCH_HZ)),
}


@dataclass
class Stream:
    sid: str
    account_sid: str
    call_sid: str
    name: str | None
    url: str
    track: str
    parameters: dict[str, str]
    status: str = "in-progress"  # in-progress | stopped
    updated: float = field(default_factory=time.time)
    frames_sent: int = 0
    connected: bool = False
    refused: int | None = None  # the HTTP status of a refused upgrade

    @property
    def uri(self) -> str:
        return (
            f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.call_sid}"
            f"/Streams/{self.sid}.json"
        )

    def json(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "account_sid": self.account_sid,
            "call_sid": self.call_sid,
            "name": self.name,
            "status": self.status,
            "date_updated": rfc2822(self.updated),
            "uri": self.uri,
        }

    def tracks(self) -> list[str]:
        return {"inbound_track": ["inbound"], "outbound_track": ["outbound"]}.get(
            self.track, ["inbound", "outbound"]
        )


def _parameters(form: Form) -> dict[str, str]:
    out: dict[str, str] = {}
    for n in range(1, 100):
        name = form.single.get(f"Parameter{n}.Name")
        if name:
            out[name] = form.single.get(f"Parameter{n}.Value", "")
    return out


class Streamer:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.streams: dict[str, Stream] = {}
        self.stats: dict[str, int] = {"started": 0, "stopped": 0}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._validator = RequestValidator(engine.config.auth_token)
        engine.on_call_end.append(self._call_ended)

    # -- REST -------------------------------------------------------------------------

    def create(self, call_sid: str, form: Form) -> Stream:
        call = self.engine.call(call_sid)
        if call.status != "in-progress":
            raise SimError(400, NOT_IN_PROGRESS, f"Call {call_sid} is not in-progress")
        url = form.single.get("Url") or ""
        if not url.startswith(("wss://", "ws://")):
            raise SimError(400, 21201, f"Url must be a wss:// URL: {url!r}")
        track = form.single.get("Track") or "inbound_track"
        if track not in TRACKS:
            raise SimError(400, 20001, f"Invalid value for Track: {track}")
        stream = Stream(
            sid=new_sid("MZ"),
            account_sid=call.account_sid,
            call_sid=call_sid,
            name=form.single.get("Name") or None,
            url=url,
            track=track,
            parameters=_parameters(form),
        )
        self.streams[stream.sid] = stream
        self.stats["started"] += 1
        self._tasks[stream.sid] = asyncio.ensure_future(self._run(stream))
        return stream

    def find(self, call_sid: str, ref: str) -> Stream:
        self.engine.call(call_sid)
        found = self.streams.get(ref) if is_sid(ref, "MZ") else None
        if found is None:
            named = [s for s in self.streams.values() if s.call_sid == call_sid and s.name == ref]
            found = named[-1] if named else None
        if found is None or found.call_sid != call_sid:
            raise SimError(404, 20404, f"The requested resource /Streams/{ref}.json was not found")
        return found

    def stop(self, stream: Stream) -> None:
        if stream.status == "stopped":
            return
        stream.status, stream.updated = "stopped", time.time()
        self.stats["stopped"] += 1

    def _call_ended(self, call_sid: str) -> None:
        for stream in list(self.streams.values()):
            if stream.call_sid == call_sid:
                self.stop(stream)

    def running(self, call_sid: str | None = None) -> list[Stream]:
        return [
            s
            for s in self.streams.values()
            if s.status == "in-progress" and (call_sid is None or s.call_sid == call_sid)
        ]

    # -- the WebSocket ------------------------------------------------------------------

    def _speaking(self, stream: Stream, track: str) -> bool:
        """Whether the party this track carries is speaking now."""
        call = self.engine.calls.get(stream.call_sid)
        conference = self.engine.conferences.get(call.conference_sid or "") if call else None
        if conference is None:
            return False
        speaking = self.engine.speaking
        if track == "inbound":
            return stream.call_sid in speaking
        return any(
            p.call_sid in speaking
            for p in conference.participants.values()
            if p.call_sid != stream.call_sid and p.status == "connected"
        )

    def payload(self, stream: Stream, track: str, n: int) -> bytes:
        """The `n`th 20 ms of `track` (160 μ-law bytes); bench/listen.py stamps its own."""
        sounds = SOUNDS[track]
        loop = sounds.speaking if self._speaking(stream, track) else sounds.quiet
        offset = (n * FRAME_SAMPLES) % RATE
        return loop[offset : offset + FRAME_SAMPLES]

    async def _run(self, stream: Stream) -> None:
        headers = {"X-Twilio-Signature": self._validator.compute_signature(stream.url, {})}
        sequence = 0

        def message(event: str, **body: Any) -> bytes:
            nonlocal sequence
            sequence += 1
            return orjson.dumps(
                {"event": event, "sequenceNumber": str(sequence), "streamSid": stream.sid, **body}
            )

        try:
            async with connect(
                stream.url, additional_headers=headers, open_timeout=5, compression=None
            ) as socket:
                stream.connected = True
                await socket.send(
                    orjson.dumps(
                        {"event": "connected", "protocol": "Call", "version": "1.0.0"}
                    ).decode()
                )
                tracks = stream.tracks()
                start = {
                    "accountSid": stream.account_sid,
                    "streamSid": stream.sid,
                    "callSid": stream.call_sid,
                    "tracks": tracks,
                    "customParameters": stream.parameters,
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": RATE, "channels": 1},
                }
                await socket.send(message("start", start=start).decode())
                began = time.monotonic()
                n = 0
                while stream.status == "in-progress":
                    wait = began + n * FRAME_SECONDS - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    for track in tracks:
                        frame = self.payload(stream, track, n)
                        media = {
                            "track": track,
                            "chunk": str(n + 1),
                            "timestamp": str(int(n * FRAME_SECONDS * 1000)),
                            "payload": base64.b64encode(frame).decode(),
                        }
                        await socket.send(message("media", media=media).decode())
                    stream.frames_sent += 1
                    n += 1
                stop = {"accountSid": stream.account_sid, "callSid": stream.call_sid}
                await socket.send(message("stop", stop=stop).decode())
        except WebSocketException as exc:
            response = getattr(exc, "response", None)
            stream.refused = getattr(response, "status_code", None)
            log.info("media stream %s: the WebSocket ended: %s", stream.sid, exc)
        except OSError as exc:
            log.info("media stream %s: could not connect: %s", stream.sid, exc)
        finally:
            # Twilio's stream ends when its WebSocket does (error 31921 and friends).
            self.stop(stream)
            self._tasks.pop(stream.sid, None)

    async def stop_all(self) -> None:
        for stream in self.streams.values():
            self.stop(stream)
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks, return_exceptions=True)


# -- REST routes ---------------------------------------------------------------------------


def _streamer(request: Request) -> Streamer:
    found: Streamer = request.app.state.streamer
    return found


async def create(request: Request, engine: Engine) -> Response:
    form = await read_form(request)
    stream = _streamer(request).create(request.path_params["CallSid"], form)
    return twilio_json(stream.json(), 200)  # Twilio's file: 200 for this create


async def update(request: Request, engine: Engine) -> Response:
    streamer = _streamer(request)
    stream = streamer.find(request.path_params["CallSid"], request.path_params["Sid"])
    status = (await read_form(request)).single.get("Status")
    if status != "stopped":
        raise SimError(400, 20001, f"Invalid value for Status: {status}")
    streamer.stop(stream)
    return twilio_json(stream.json())


def state(streamer: Streamer) -> list[Mapping[str, Any]]:
    return [
        {**s.json(), "frames_sent": s.frames_sent, "connected": s.connected, "refused": s.refused}
        for s in streamer.streams.values()
    ]


def routes() -> list[Route]:
    calls = f"{PREFIX}/Calls/{{CallSid}}"
    return [
        Route(f"{calls}/Streams.json", endpoint(create), methods=["POST"]),
        Route(f"{calls}/Streams/{{Sid}}.json", endpoint(update), methods=["POST"]),
    ]
