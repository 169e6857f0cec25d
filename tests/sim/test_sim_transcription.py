"""The simulator's real-time transcription, as Twilio runs it (issue 15): the twilio SDK's
Transcriptions calls, answers checked against Twilio's OpenAPI file, Twilio's refusals,
and the signed callbacks a leg's speech causes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException

from tests.conftest import Sim
from tests.helpers import Receiver
from tests.sim.test_sim_rest import BASE, new_call, raw, wait_until
from tests.twilio_schema import problems, response_schema, schema_of

TRANSCRIPTION = "api.v2010.account.call.realtime_transcription"
CREATE = "/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}/Transcriptions.json"


def start(sim: Sim, call_sid: str, **params: Any) -> Any:
    return (
        sim.client()
        .calls(call_sid)
        .transcriptions.create(
            status_callback_url=sim.config.callback_url.replace("conference-events", "transcripts"),
            **params,
        )
    )


def say(sim: Sim, conference: str, call_sid: str, text: str) -> None:
    with sim.control() as http:
        answer = http.post(f"/sim/conferences/{conference}/actions",
                           json={"action": "say", "call_sid": call_sid, "text": text})  # fmt: skip
    assert answer.status_code == 200, answer.text


def quicken(sim: Sim, words_per_second: float = 40.0) -> None:
    """People speak faster from their next utterance on (the control API's PUT /sim/pace)."""
    with sim.control() as http:
        answer = http.put("/sim/pace", json={"words_per_second": words_per_second})
    assert answer.status_code == 200, answer.text
    assert sim.thread.app.state.transcriber.words_per_second == words_per_second


@pytest.mark.parametrize("pace", [0, 0.1, 101, "fast", True, None])
def test_a_pace_no_person_has_is_refused_with_a_reason(sim: Sim, pace: object) -> None:
    with sim.control() as http:
        answer = http.put("/sim/pace", json={"words_per_second": pace})
    assert answer.status_code == 400
    assert "words_per_second must be a number from 0.5 to 100" in answer.text
    assert sim.thread.app.state.transcriber.words_per_second == 2.5  # unchanged


def events(receiver: Receiver) -> list[dict[str, str]]:
    return [r.params for r in receiver.received if r.path.endswith("/transcripts")]


def test_start_and_stop_answer_as_twilios_file_says(sim: Sim) -> None:
    call = new_call(sim)
    created = raw(sim, "POST", f"/Calls/{call['customer_call_sid']}/Transcriptions.json",
                  data={"Track": "both_tracks", "Name": "earpiece"})  # fmt: skip
    assert created.status_code == 200  # Twilio's file: 200, not 201, for this create
    assert problems(created.json(), response_schema(CREATE, "post", "200")) == []
    assert created.json()["status"] == "in-progress" and created.json()["sid"].startswith("GT")
    stopped = raw(sim, "POST", f"/Calls/{call['customer_call_sid']}/Transcriptions/earpiece.json",
                  data={"Status": "stopped"})  # by its Name  # fmt: skip
    assert stopped.status_code == 200
    assert problems(stopped.json(), schema_of(TRANSCRIPTION)) == []
    assert stopped.json()["status"] == "stopped"


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [({"Track": "both"}, 400, 20001), ({"StatusCallbackMethod": "PUT"}, 400, 20001)],
)
def test_bad_parameters_are_refused(
    sim: Sim, params: dict[str, str], status: int, code: int
) -> None:
    call = new_call(sim)
    answer = raw(sim, "POST", f"/Calls/{call['customer_call_sid']}/Transcriptions.json",
                 data=params)  # fmt: skip
    assert (answer.status_code, answer.json()["code"]) == (status, code)


def test_a_call_not_in_progress_cannot_be_transcribed(sim: Sim) -> None:
    call = new_call(sim)
    with sim.control() as http:
        http.post(f"/sim/conferences/{call['conference_sid']}/actions",
                  json={"action": "end"})  # fmt: skip
    with pytest.raises(TwilioRestException) as refused:
        start(sim, call["customer_call_sid"])
    assert refused.value.code == 21220
    missing = raw(sim, "POST", f"/Calls/{call['customer_call_sid']}/Transcriptions/GT{'0' * 32}"
                  ".json", data={"Status": "stopped"})  # fmt: skip
    assert missing.status_code == 404


def test_speech_is_transcribed_partials_then_final_on_the_right_track(
    sim: Sim, receiver: Receiver
) -> None:
    quicken(sim)
    call = new_call(sim)
    cf, customer, agent = call["conference_sid"], call["customer_call_sid"], call["agent_call_sid"]
    made = start(sim, customer, track="both_tracks", partial_results=True,
                 inbound_track_label="customer", outbound_track_label="agent")  # fmt: skip
    say(sim, cf, customer, "I would like to pay my bill today please")
    wait_until(lambda: any(e.get("Final") == "true" for e in events(receiver)))
    say(sim, cf, agent, "Of course")
    wait_until(lambda: sum(e.get("Final") == "true" for e in events(receiver)) == 2)
    got = events(receiver)
    assert all(r.valid for r in receiver.received)  # signed, as every Twilio webhook
    assert got[0]["TranscriptionEvent"] == "transcription-started"
    assert [int(e["SequenceId"]) for e in got] == list(range(1, len(got) + 1))
    assert {e["TranscriptionSid"] for e in got} == {made.sid}
    content = [e for e in got if e["TranscriptionEvent"] == "transcription-content"]
    first = [e for e in content if e["Track"] == "inbound_track"]
    assert [e["Final"] for e in first][-1] == "true" and "false" in [e["Final"] for e in first]
    texts = [json.loads(e["TranscriptionData"])["transcript"] for e in first]
    assert texts[-1] == "I would like to pay my bill today please"
    assert all(texts[-1].startswith(t) for t in texts)  # partials grow toward the final
    (other,) = [e for e in content if e["Track"] == "outbound_track"]  # short: no partial
    assert json.loads(other["TranscriptionData"])["transcript"] == "Of course"
    for e in content:
        assert set(e) == {"AccountSid", "CallSid", "TranscriptionSid", "Timestamp", "SequenceId",
                          "TranscriptionEvent", "Track", "Final", "LanguageCode",
                          "TranscriptionData"}  # fmt: skip
        assert e["CallSid"] == customer  # the transcribed leg, whoever spoke
    with sim.control() as http:
        http.post(f"/sim/conferences/{cf}/actions", json={"action": "leave", "call_sid": customer})
    wait_until(lambda: events(receiver)[-1]["TranscriptionEvent"] == "transcription-stopped")


@pytest.mark.parametrize(
    ("language", "words"),
    [("en-US", "I would like to cancel my contract today"),
     # The simulator cuts partials at spaces, so the Japanese is said in spaced phrases.
     ("ja-JP", "今日 契約 を 解約 したい のですが よろしい でしょうか")],
)  # fmt: skip
def test_partials_carry_no_confidence_and_started_says_how_it_runs(
    sim: Sim, receiver: Receiver, language: str, words: str
) -> None:
    """The <Transcription> page's callbacks: a partial result's TranscriptionData has the
    transcript and no confidence (only a final has one); transcription-started says the
    LanguageCode, PartialResults and the ProviderConfiguration it runs with."""
    quicken(sim)
    call = new_call(sim)
    cf, customer = call["conference_sid"], call["customer_call_sid"]
    start(sim, customer, track="inbound_track", partial_results=True, language_code=language)
    say(sim, cf, customer, words)
    wait_until(lambda: any(e.get("Final") == "true" for e in events(receiver)))
    started, *content = events(receiver)
    assert started["TranscriptionEvent"] == "transcription-started"
    assert (started["LanguageCode"], started["PartialResults"]) == (language, "true")
    assert isinstance(json.loads(started["ProviderConfiguration"]), dict)
    said = [(e["Final"], json.loads(e["TranscriptionData"])) for e in content]
    partials = [data for final, data in said if final == "false"]
    finals = [data for final, data in said if final == "true"]
    assert partials and all(set(data) == {"transcript"} for data in partials)
    assert [set(data) for data in finals] == [{"transcript", "confidence"}]
    assert finals[0]["transcript"] == words
    assert all(e["LanguageCode"] == language for e in content)


RECORDING = "api.v2010.account.call.call_recording"


def test_recordings_answer_as_twilios_file_says_and_call_back_signed(
    sim: Sim, receiver: Receiver
) -> None:
    """The simulator's Call Recordings (issue 16): shapes, pause/resume, the end with the call,
    signed status callbacks, and media only behind the account's credentials."""
    call = new_call(sim)
    customer = call["customer_call_sid"]
    url = sim.config.callback_url.replace("conference-events", "recordings")
    made = raw(sim, "POST", f"/Calls/{customer}/Recordings.json", data={
        "RecordingStatusCallback": url, "RecordingChannels": "dual",
        "RecordingStatusCallbackEvent": "in-progress completed"})  # fmt: skip
    assert made.status_code == 201
    assert problems(made.json(), schema_of(RECORDING)) == []
    rid = made.json()["sid"]
    paused = raw(sim, "POST", f"/Calls/{customer}/Recordings/{rid}.json",
                 data={"Status": "paused", "PauseBehavior": "skip"})  # fmt: skip
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert problems(paused.json(), schema_of(RECORDING)) == []
    assert raw(sim, "GET", f"/Recordings/{rid}.wav").status_code == 404  # no media yet
    with sim.control() as http:
        http.post(f"/sim/conferences/{call['conference_sid']}/actions",
                  json={"action": "leave", "call_sid": customer})  # fmt: skip
    # Twilio processes the file first: `processing` (no callback), no media yet.
    processing = raw(sim, "GET", f"/Calls/{customer}/Recordings/{rid}.json").json()
    assert processing["status"] == "processing" and processing["duration"] == "-1"
    assert problems(processing, schema_of(RECORDING)) == []
    assert raw(sim, "GET", f"/Recordings/{rid}.wav").status_code == 404

    def statuses() -> list[str | None]:
        return [r.params.get("RecordingStatus") for r in receiver.received
                if r.path.endswith("/recordings")]  # fmt: skip

    wait_until(lambda: statuses() == ["in-progress", "completed"])
    assert all(r.valid for r in receiver.received)
    # RecordingDuration comes with `completed` only (FIELD-NOTES, "More corrections").
    durations = [r.params.get("RecordingDuration") for r in receiver.received
                 if r.path.endswith("/recordings")]  # fmt: skip
    assert durations[0] is None and durations[1] is not None and int(durations[1]) >= 0
    done = raw(sim, "GET", f"/Calls/{customer}/Recordings/{rid}.json").json()
    assert done["status"] == "completed" and problems(done, schema_of(RECORDING)) == []
    media = raw(sim, "GET", f"/Recordings/{rid}.wav")
    assert media.status_code == 200 and media.content[:4] == b"RIFF"
    with httpx.Client(base_url=sim.url) as anonymous:
        assert anonymous.get(f"{BASE}/Recordings/{rid}.wav").status_code == 401
    refused = raw(sim, "POST", f"/Calls/{customer}/Recordings.json", data={})
    assert (refused.status_code, refused.json()["code"]) == (400, 21220)  # the call ended


@pytest.mark.parametrize("words", ["Thank you goodbye then", "ありがとうございました 失礼します"])
def test_a_final_follows_the_hang_up_as_on_twilio(sim: Sim, receiver: Receiver, words: str) -> None:
    """The caller says goodbye and hangs up before the engine settles the utterance: its final
    still comes, after the leave and the conference's end, and then the stop (issue 21)."""
    quicken(sim)
    call = new_call(sim)
    cf, customer = call["conference_sid"], call["customer_call_sid"]
    made = start(sim, customer, track="both_tracks", language_code="ja-JP")
    with sim.control() as http:
        answer = http.post(f"/sim/conferences/{cf}/actions", json={
            "action": "say", "call_sid": customer, "text": words, "hang_up": True})  # fmt: skip
    assert answer.status_code == 200, answer.text
    wait_until(lambda: any(e["TranscriptionEvent"] == "transcription-stopped"
                           for e in events(receiver)))  # fmt: skip
    order = [(r.path, r.params) for r in receiver.received]
    leave = next(i for i, (path, p) in enumerate(order)
                 if p.get("StatusCallbackEvent") == "participant-leave"
                 and p.get("CallSid") == customer)  # fmt: skip
    final = next(i for i, (path, p) in enumerate(order) if p.get("Final") == "true")
    stop = next(i for i, (path, p) in enumerate(order)
                if p.get("TranscriptionEvent") == "transcription-stopped")  # fmt: skip
    assert leave < final < stop
    said = order[final][1]
    assert json.loads(said["TranscriptionData"])["transcript"] == words
    assert said["TranscriptionSid"] == made.sid and said["CallSid"] == customer
    assert int(said["SequenceId"]) < int(order[stop][1]["SequenceId"])
    with pytest.raises(StopIteration):  # nothing after the stop
        next(p for path, p in order[stop + 1 :] if path.endswith("/transcripts"))


def test_a_transcription_stopped_through_the_api_drops_what_it_was_hearing(
    sim: Sim, receiver: Receiver
) -> None:
    """A payment pause stops the transcription mid-sentence: the words after it never come."""
    transcriber = sim.thread.app.state.transcriber
    transcriber.words_per_second = 10.0
    call = new_call(sim)
    cf, customer = call["conference_sid"], call["customer_call_sid"]
    made = start(sim, customer, track="both_tracks", partial_results=True)
    say(sim, cf, customer, "my card number is four one one one and so on")
    wait_until(lambda: any(e.get("Final") == "false" for e in events(receiver)))
    sim.client().calls(customer).transcriptions(made.sid).update(status="stopped")
    wait_until(lambda: not transcriber._tasks, 10)
    sim.drain()
    got = events(receiver)
    assert got[-1]["TranscriptionEvent"] == "transcription-stopped"
    assert not [e for e in got if e.get("Final") == "true"]
