"""Real-time transcription, as Twilio runs it on a live call (issue 15).

REST (twilio_api_v2010.json, "Calls/{CallSid}/Transcriptions"; the Realtime
Transcription resource page, https://www.twilio.com/docs/voice/api/realtime-transcription-resource):

- `POST /Calls/{CallSid}/Transcriptions.json` starts one on an in-progress call
  (Track, StatusCallbackUrl, StatusCallbackMethod, PartialResults, LanguageCode,
  InboundTrackLabel, OutboundTrackLabel, Name, ...) and answers **200** (not 201)
  with the resource: sid `GT…`, status `in-progress`;
- `POST /Calls/{CallSid}/Transcriptions/{Sid}.json` with `Status=stopped` stops it; `Sid`
  may be the SID or the Name it was given.

Callbacks to StatusCallbackUrl, signed like every webhook (the `<Transcription>`
TwiML page's "statusCallbackUrl" parameters): AccountSid, CallSid, TranscriptionSid,
Timestamp (ISO 8601), SequenceId (from 1, one count for all of a transcription's
callbacks) and TranscriptionEvent: `transcription-started` with LanguageCode,
PartialResults and ProviderConfiguration; `transcription-content` with Track, Final,
LanguageCode and TranscriptionData (`{"transcript", "confidence"}` on a final; a partial
result has no `confidence`), partials first when PartialResults is on;
`transcription-stopped` when stopped or when the call ends.

What a leg says (`say`, or the traffic's dialogues) is heard by every transcription
running on a leg of that conference: on the transcribed leg's own voice as its
`inbound_track`, on anyone else's as its `outbound_track`.

A hang-up does not cut off the last words: as on Twilio, whose callbacks trail the
call (FIELD-NOTES, "a final often arrives after the speaker's leg has left"), an
utterance the engine was hearing when the call ended is settled into its final
after the hang-up, and the transcription's `transcription-stopped` follows it. A
transcription stopped through the API (a payment pause) drops what it was hearing:
nothing said after the stop is transcribed.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twilio_sim.delivery import Deliverer
from twilio_sim.engine import Engine, SimError, flag
from twilio_sim.model import API_VERSION, Conference, Participant, is_sid, new_sid, rfc2822
from twilio_sim.rest import PREFIX, endpoint, read_form, twilio_json

TRACKS = ("inbound_track", "outbound_track", "both_tracks")
# Twilio's error for an operation on a call that is not in progress.
NOT_IN_PROGRESS = 21220
# Words per partial result, and how long the engine takes to settle a final after speech.
WORDS_PER_PARTIAL = 3
# Kana and kanji: a line in Japanese (no spaces; its partials grow three characters at a time).
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
FINAL_AFTER_SECONDS = 0.3


@dataclass
class Transcription:
    sid: str
    account_sid: str
    call_sid: str
    name: str | None
    track: str
    callback: str | None
    method: str
    partial_results: bool
    language: str
    status: str = "in-progress"  # in-progress | stopped
    updated: float = field(default_factory=time.time)
    sequence: int = 0
    # Utterances being heard: id -> (track, the words heard so far).
    hearing: dict[int, tuple[str, str]] = field(default_factory=dict)
    # Its call ended mid-utterance: `transcription-stopped` waits for their finals.
    settling: bool = False

    @property
    def uri(self) -> str:
        return (
            f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.call_sid}"
            f"/Transcriptions/{self.sid}.json"
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

    def hears(self, track: str) -> bool:
        return self.track in (track, "both_tracks")


def iso_now() -> str:
    return datetime.now(tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Transcriber:
    def __init__(self, engine: Engine, deliverer: Deliverer) -> None:
        self.engine = engine
        self.deliverer = deliverer
        self.transcriptions: dict[str, Transcription] = {}
        self.stats: dict[str, int] = {"started": 0, "stopped": 0, "content": 0}
        self._tasks: set[asyncio.Task[None]] = set()
        self._utterances = itertools.count(1)
        engine.on_call_end.append(self._call_ended)

    @property
    def words_per_second(self) -> float:
        """The people's pace, from the simulator's config: `PUT /sim/pace` changes it for
        the utterances that start after it (a browser test need not wait at 2.5 words a
        second for the lines it scrolls)."""
        return self.engine.config.words_per_second

    @words_per_second.setter
    def words_per_second(self, pace: float) -> None:
        self.engine.config.words_per_second = pace

    # -- REST -------------------------------------------------------------------------

    def create(self, call_sid: str, form: Mapping[str, str]) -> Transcription:
        call = self.engine.call(call_sid)
        if call.status != "in-progress":
            raise SimError(400, NOT_IN_PROGRESS, f"Call {call_sid} is not in-progress")
        track = form.get("Track") or "both_tracks"
        if track not in TRACKS:
            raise SimError(400, 20001, f"Invalid value for Track: {track}")
        method = (form.get("StatusCallbackMethod") or "POST").upper()
        if method not in ("GET", "POST"):
            raise SimError(400, 20001, f"Invalid value for StatusCallbackMethod: {method}")
        if method == "GET":
            # Twilio would send the parameters in the query; the simulator posts only, and
            # says so rather than post where a GET was asked for.
            raise SimError(400, 20001, "the simulator sends transcription callbacks by POST only")
        tr = Transcription(
            sid=new_sid("GT"),
            account_sid=call.account_sid,
            call_sid=call_sid,
            name=form.get("Name") or None,
            track=track,
            callback=form.get("StatusCallbackUrl") or None,
            method=method,
            partial_results=bool(flag(form, "PartialResults", False)),
            language=form.get("LanguageCode") or "en-US",
        )
        self.transcriptions[tr.sid] = tr
        self.stats["started"] += 1
        # What the session runs with, as the started callback says it (the <Transcription>
        # page's statusCallbackUrl parameters): the language, whether partials come, and
        # the provider's options as JSON.
        provider = {
            "profanityFilter": str(flag(form, "ProfanityFilter", True)).lower(),
            "speechModel": form.get("SpeechModel") or "telephony",
            "enableAutomaticPunctuation": str(
                flag(form, "EnableAutomaticPunctuation", True)
            ).lower(),
        }
        self._send(
            tr,
            "transcription-started",
            LanguageCode=tr.language,
            PartialResults=str(tr.partial_results).lower(),
            ProviderConfiguration=orjson.dumps(provider).decode(),
        )
        return tr

    def find(self, call_sid: str, ref: str) -> Transcription:
        self.engine.call(call_sid)
        found = self.transcriptions.get(ref) if is_sid(ref, "GT") else None
        if found is None:
            named = [
                t for t in self.transcriptions.values() if t.call_sid == call_sid and t.name == ref
            ]
            running = [t for t in named if t.status == "in-progress"]
            found = (running or named)[-1] if (running or named) else None
        if found is None or found.call_sid != call_sid:
            missing = f"The requested resource /Transcriptions/{ref}.json was not found"
            raise SimError(404, 20404, missing)
        return found

    def update(self, tr: Transcription, form: Mapping[str, str]) -> None:
        status = form.get("Status")
        if status != "stopped":
            raise SimError(400, 20001, f"Invalid value for Status: {status}")
        self.stop(tr)

    def stop(self, tr: Transcription, settle: bool = False) -> None:
        """Stopped through the API (what it was hearing is dropped), or by the end of its call
        (`settle`: the utterance it was hearing still gets its final, then the stop)."""
        if tr.status == "stopped":
            return
        tr.status, tr.updated = "stopped", time.time()
        self.stats["stopped"] += 1
        if settle and tr.hearing:
            tr.settling = True
            return
        tr.hearing.clear()
        self._send(tr, "transcription-stopped")

    def _call_ended(self, call_sid: str) -> None:
        for tr in list(self.transcriptions.values()):
            if tr.call_sid == call_sid:
                self.stop(tr, settle=True)

    def _settle(self, hearing: list[tuple[Transcription, str]], utterance: int) -> None:
        """An utterance is over (said, or cut by a hang-up): each transcription that heard it
        sends its final, and one whose call ended meanwhile then its stop."""
        for tr, _ in hearing:
            heard = tr.hearing.pop(utterance, None)
            if heard is None:
                continue  # stopped through the API meanwhile: dropped
            track, words = heard
            if words and (tr.status == "in-progress" or tr.settling):
                self._content(tr, track, words, final=True)
            if tr.settling and not tr.hearing:
                tr.settling = False
                self._send(tr, "transcription-stopped")

    # -- callbacks --------------------------------------------------------------------

    def _send(self, tr: Transcription, event: str, **extra: str) -> None:
        tr.sequence += 1
        if not tr.callback:
            return
        params = {
            "AccountSid": tr.account_sid,
            "CallSid": tr.call_sid,
            "TranscriptionSid": tr.sid,
            "Timestamp": iso_now(),
            "SequenceId": str(tr.sequence),
            "TranscriptionEvent": event,
            **extra,
        }
        self.deliverer.send(tr.callback, params)

    def _content(self, tr: Transcription, track: str, words: str, final: bool) -> None:
        self.stats["content"] += 1
        # A partial result has no confidence: only a final carries one (FIELD-NOTES, "More
        # corrections"; the <Transcription> page's transcription-content example).
        said: dict[str, Any] = {"transcript": words}
        if final:
            said["confidence"] = 0.92
        data = orjson.dumps(said).decode()
        self._send(
            tr,
            "transcription-content",
            Track=track,
            Final=str(final).lower(),
            LanguageCode=tr.language,
            TranscriptionData=data,
        )

    # -- speech -------------------------------------------------------------------------

    def listening(self, conference: Conference) -> list[Transcription]:
        legs = {p.call_sid for p in conference.participants.values() if p.status == "connected"}
        return [
            t
            for t in self.transcriptions.values()
            if t.status == "in-progress" and t.call_sid in legs
        ]

    def language(self, conference: Conference) -> str:
        """The LanguageCode the conference's transcription was started with."""
        running = self.listening(conference)
        return running[0].language if running else "en-US"

    def running(self, conference: Conference) -> bool:
        return bool(self.listening(conference))

    async def say(
        self, conference: Conference, p: Participant, text: str, hang_up: bool = False
    ) -> None:
        """`p` says `text`: speech events, and what each transcription hears of it, word by
        word (partials) and then whole (the final), at the pace of speech. With `hang_up`,
        the leg hangs up as soon as it has said it: the final comes after the hang-up."""
        # A Japanese engine writes no spaces between words: its partials grow by characters.
        spaced = " " in text.strip() or not _JAPANESE.search(text)
        joiner = " " if spaced else ""
        words = text.split() if spaced else [text[i : i + 3] for i in range(0, len(text), 3)]
        if not words:
            return
        engine = self.engine
        utterance = next(self._utterances)
        hearing = []
        for tr in self.listening(conference):
            track = "inbound_track" if tr.call_sid == p.call_sid else "outbound_track"
            if tr.hears(track):
                hearing.append((tr, track))
                tr.hearing[utterance] = (track, "")
        try:
            engine.act(conference, "speech-start", p.call_sid)
            pace = 1.0 / self.words_per_second
            for end in range(WORDS_PER_PARTIAL, len(words), WORDS_PER_PARTIAL):
                await asyncio.sleep(pace * WORDS_PER_PARTIAL)
                if p.status != "connected":
                    return  # cut off: the words heard so far are settled (finally)
                for tr, track in hearing:
                    if utterance not in tr.hearing:
                        continue
                    tr.hearing[utterance] = (track, joiner.join(words[:end]))
                    if tr.partial_results and tr.status == "in-progress":
                        self._content(tr, track, joiner.join(words[:end]), final=False)
            await asyncio.sleep(pace * (len(words) % WORDS_PER_PARTIAL or WORDS_PER_PARTIAL))
            if p.status != "connected" or conference.status == "completed":
                return
            for tr, track in hearing:
                if utterance in tr.hearing:
                    tr.hearing[utterance] = (track, joiner.join(words))
            engine.act(conference, "speech-stop", p.call_sid)
            settle = FINAL_AFTER_SECONDS / max(1.0, self.words_per_second / 2.5)
            if hang_up:
                engine.hang_up(conference, p.call_sid)
                # The engine's own pace, however fast the people speak: the final comes well
                # after the leave and the end, as it does from Twilio.
                settle = FINAL_AFTER_SECONDS
            await asyncio.sleep(settle)
        except asyncio.CancelledError:
            for tr, _ in hearing:
                tr.hearing.pop(utterance, None)
            raise
        finally:
            self._settle(hearing, utterance)

    def say_soon(
        self, conference: Conference, p: Participant, text: str, hang_up: bool = False
    ) -> None:
        if p.status != "connected":
            raise SimError(400, 16099, f"participant {p.call_sid} is not connected")
        task = asyncio.ensure_future(self.say(conference, p, text, hang_up))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


# -- REST routes ---------------------------------------------------------------------------


def _transcriber(request: Request) -> Transcriber:
    found: Transcriber = request.app.state.transcriber
    return found


async def create(request: Request, engine: Engine) -> Response:
    form = await read_form(request)
    tr = _transcriber(request).create(request.path_params["CallSid"], form.single)
    return twilio_json(tr.json(), 200)  # Twilio's file: 200 for this create


async def update(request: Request, engine: Engine) -> Response:
    transcriber = _transcriber(request)
    tr = transcriber.find(request.path_params["CallSid"], request.path_params["Sid"])
    transcriber.update(tr, (await read_form(request)).single)
    return twilio_json(tr.json())


def routes() -> list[Route]:
    calls = f"{PREFIX}/Calls/{{CallSid}}"
    return [
        Route(f"{calls}/Transcriptions.json", endpoint(create), methods=["POST"]),
        Route(f"{calls}/Transcriptions/{{Sid}}.json", endpoint(update), methods=["POST"]),
    ]
