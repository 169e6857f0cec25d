"""Call recordings, as Twilio makes them (issue 16).

REST (twilio_api_v2010.json, "Calls/{CallSid}/Recordings" and "Recordings/{Sid}"; the Call
Recording resource page, https://www.twilio.com/docs/voice/api/recording):

- `POST /Calls/{CallSid}/Recordings.json` starts recording an in-progress call (21220
  otherwise): RecordingStatusCallback, RecordingStatusCallbackEvent (`in-progress`,
  `completed`, `absent`; default `completed`), RecordingChannels (`mono`|`dual`),
  RecordingTrack (`inbound`|`outbound`|`both`); answers 201 with the Recording
  (`RE…`, status `in-progress`, source `StartCallRecordingAPI`);
- `POST /Calls/{CallSid}/Recordings/{Sid}.json` with `Status=paused|in-progress|stopped`
  (PauseBehavior `skip`|`silence`);
- `GET` and `DELETE /Recordings/{Sid}.json`; the media at `/Recordings/{Sid}.wav` (and
  `.mp3`), behind the account's HTTP Basic auth as Twilio's media URLs are when
  "HTTP Basic Authentication for media" is on (the safe setting Earpiece assumes).

Status callbacks (the same page's "recordingStatusCallback" parameters): AccountSid,
CallSid, RecordingSid, RecordingUrl (no extension), RecordingStatus, RecordingDuration
(with `completed` only),
RecordingChannels, RecordingStartTime, RecordingSource, RecordingTrack. A recording
stops when stopped or when its call ends, is `processing` for a while (Twilio
post-processes recordings: "Call recordings require post-processing, and may not always
be ready right away when your call ends", https://support.twilio.com/hc/en-us/articles/360014251313)
and then `completed`, with its duration and its media. The media is a generated tone
sequence as long as the recording's duration (the simulator has no voices to record).
"""

from __future__ import annotations

import asyncio
import io
import math
import struct
import time
import wave
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twilio_sim.delivery import Deliverer
from twilio_sim.engine import Engine, SimError
from twilio_sim.model import API_VERSION, new_sid, rfc2822
from twilio_sim.rest import PREFIX, endpoint, read_form, twilio_json

EVENTS = ("in-progress", "completed", "absent")
MEDIA_SECONDS = 3.0
RATE = 8000


@dataclass
class Recording:
    sid: str
    account_sid: str
    call_sid: str
    callback: str | None
    events: frozenset[str]
    channels: int
    track: str
    status: str = "in-progress"
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    ended: float | None = None
    paused_seconds: float = 0.0
    paused_at: float | None = None

    @property
    def duration(self) -> int:
        until = self.ended or time.time()
        return max(0, int(until - self.created - self.paused_seconds))

    def json(self) -> dict[str, Any]:
        done = self.status in ("completed", "absent")
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "call_sid": self.call_sid,
            "conference_sid": None,
            "date_created": rfc2822(self.created),
            "date_updated": rfc2822(self.updated),
            "start_time": rfc2822(self.created),
            "duration": str(self.duration) if done else "-1",
            "sid": self.sid,
            "price": None,
            "price_unit": "USD",
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.call_sid}"
            f"/Recordings/{self.sid}.json",
            "encryption_details": None,
            "status": self.status,
            "channels": self.channels,
            "source": "StartCallRecordingAPI",
            "error_code": None,
            "track": self.track,
        }


def _one_second() -> bytes:
    # 440 Hz for half a second, 660 Hz for the other half: whole cycles each, so seconds
    # joined end to end play as one tone sequence.
    frames = bytearray()
    for n in range(RATE):
        freq = 440 if (n // (RATE // 2)) % 2 == 0 else 660
        frames += struct.pack("<h", int(6000 * math.sin(2 * math.pi * freq * n / RATE)))
    return bytes(frames)


ONE_SECOND = _one_second()
# Media of the durations asked for lately (a recording is fetched once per playback).
MEDIA_CACHE = 8


def tone_wav(seconds: float = MEDIA_SECONDS) -> bytes:
    """`seconds` of two alternating tones, 8 kHz 16-bit mono: a recording's media, as long as
    the recording says it is (issue 28: a recording labelled 229 s played 3 s; a player's
    duration and seeking were tested on a lie)."""
    whole, part = divmod(max(1, int(RATE * seconds)), RATE)
    frames = ONE_SECOND * whole + ONE_SECOND[: part * 2]
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(frames)
    return out.getvalue()


class Recorder:
    def __init__(
        self, engine: Engine, deliverer: Deliverer, processing_seconds: float = 0.0
    ) -> None:
        self.engine = engine
        self.deliverer = deliverer
        self.processing_seconds = processing_seconds
        self.recordings: dict[str, Recording] = {}
        self._media: dict[int, bytes] = {}
        engine.on_call_end.append(self._call_ended)

    def media(self, rec: Recording) -> bytes:
        """The recording's media: its duration's worth of tones (at least a second)."""
        seconds = max(1, rec.duration)
        made = self._media.get(seconds)
        if made is None:
            if len(self._media) >= MEDIA_CACHE:
                self._media.pop(next(iter(self._media)))
            made = self._media[seconds] = tone_wav(seconds)
        return made

    def create(self, call_sid: str, form: Mapping[str, str], events: list[str]) -> Recording:
        call = self.engine.call(call_sid)
        if call.status != "in-progress":
            raise SimError(400, 21220, f"Call {call_sid} is not in-progress")
        channels = form.get("RecordingChannels") or "mono"
        track = form.get("RecordingTrack") or "both"
        if channels not in ("mono", "dual"):
            raise SimError(400, 20001, f"Invalid value for RecordingChannels: {channels}")
        if track not in ("inbound", "outbound", "both"):
            raise SimError(400, 20001, f"Invalid value for RecordingTrack: {track}")
        bad = [e for e in events if e not in EVENTS]
        if bad:
            raise SimError(400, 20001, f"Invalid RecordingStatusCallbackEvent: {bad[0]}")
        rec = Recording(
            sid=new_sid("RE"),
            account_sid=call.account_sid,
            call_sid=call_sid,
            callback=form.get("RecordingStatusCallback") or None,
            events=frozenset(events or ["completed"]),
            channels=2 if channels == "dual" else 1,
            track=track,
        )
        self.recordings[rec.sid] = rec
        self._send(rec, "in-progress")
        return rec

    def find(self, sid: str, call_sid: str | None = None) -> Recording:
        rec = self.recordings.get(sid)
        if rec is None or (call_sid is not None and rec.call_sid != call_sid):
            missing = f"The requested resource /Recordings/{sid}.json was not found"
            raise SimError(404, 20404, missing)
        return rec

    def update(self, rec: Recording, form: Mapping[str, str]) -> None:
        status = form.get("Status")
        if status not in ("paused", "in-progress", "stopped"):
            raise SimError(400, 20001, f"Invalid value for Status: {status}")
        if rec.status in ("completed", "absent", "stopped", "processing"):
            raise SimError(400, 21220, f"Recording {rec.sid} is not in progress")
        now = time.time()
        if status == "paused" and rec.status == "in-progress":
            rec.status, rec.paused_at = "paused", now
        elif status == "in-progress" and rec.status == "paused":
            rec.paused_seconds += now - (rec.paused_at or now)
            rec.status, rec.paused_at = "in-progress", None
        elif status == "stopped":
            self._finish(rec)
        rec.updated = now

    def _finish(self, rec: Recording) -> None:
        if rec.status in ("completed", "absent", "processing"):
            return
        now = time.time()
        if rec.paused_at is not None:
            rec.paused_seconds += now - rec.paused_at
            rec.paused_at = None
        rec.ended = rec.updated = now
        rec.status = "processing"  # no callback: Twilio sends none for it
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._complete(rec)
            return
        loop.call_later(self.processing_seconds, self._complete, rec)

    def _complete(self, rec: Recording) -> None:
        if rec.status != "processing" or rec.sid not in self.recordings:
            return  # deleted meanwhile
        rec.status, rec.updated = "completed", time.time()
        self._send(rec, "completed")

    def _call_ended(self, call_sid: str) -> None:
        for rec in list(self.recordings.values()):
            if rec.call_sid == call_sid:
                self._finish(rec)

    def _send(self, rec: Recording, status: str) -> None:
        if not rec.callback or status not in rec.events:
            return
        params = {
            "AccountSid": rec.account_sid,
            "CallSid": rec.call_sid,
            "RecordingSid": rec.sid,
            "RecordingUrl": f"https://api.twilio.com/{API_VERSION}/Accounts/{rec.account_sid}"
            f"/Recordings/{rec.sid}",
            "RecordingStatus": status,
            "RecordingChannels": str(rec.channels),
            "RecordingStartTime": rfc2822(rec.created),
            "RecordingSource": "StartCallRecordingAPI",
            "RecordingTrack": rec.track,
        }
        if status == "completed":
            # RecordingDuration comes with `completed` only (FIELD-NOTES, "More corrections";
            # the recordingStatusCallback parameters of the Recordings resource page).
            params["RecordingDuration"] = str(rec.duration)
        self.deliverer.send(rec.callback, params)


def _recorder(request: Request) -> Recorder:
    found: Recorder = request.app.state.recorder
    return found


async def create(request: Request, engine: Engine) -> Response:
    form = await read_form(request)
    rec = _recorder(request).create(
        request.path_params["CallSid"], form.single, form.list("RecordingStatusCallbackEvent")
    )
    return twilio_json(rec.json(), 201)


async def of_call(request: Request, engine: Engine) -> Response:
    recorder = _recorder(request)
    rec = recorder.find(request.path_params["Sid"], request.path_params["CallSid"])
    if request.method == "POST":
        recorder.update(rec, (await read_form(request)).single)
    return twilio_json(rec.json())


async def one(request: Request, engine: Engine) -> Response:
    recorder = _recorder(request)
    rec = recorder.find(request.path_params["Sid"])
    if request.method == "DELETE":
        del recorder.recordings[rec.sid]
        return Response(status_code=204)
    return twilio_json(rec.json())


async def media(request: Request, engine: Engine) -> Response:
    recorder = _recorder(request)
    rec = recorder.find(request.path_params["Sid"])
    if rec.status != "completed":
        raise SimError(404, 20404, f"Recording {rec.sid} has no media yet")
    return Response(recorder.media(rec), media_type="audio/x-wav")


def routes() -> list[Route]:
    calls = f"{PREFIX}/Calls/{{CallSid}}"
    return [
        Route(f"{calls}/Recordings.json", endpoint(create), methods=["POST"]),
        Route(f"{calls}/Recordings/{{Sid}}.json", endpoint(of_call), methods=["GET", "POST"]),
        Route(f"{PREFIX}/Recordings/{{Sid}}.json", endpoint(one), methods=["GET", "DELETE"]),
        Route(f"{PREFIX}/Recordings/{{Sid}}.wav", endpoint(media), methods=["GET"]),
    ]
