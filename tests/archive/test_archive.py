"""QA after the call (issue 16): an ended call's whole life lands in the archive exactly once,
also when its end callback was lost; it is found by every filter and by its words; its
recording plays through Earpiece; reviews; retention; who may see what."""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Callable

import httpx
import pytest

from core.keys import Keys
from core.redis_client import RedisTarget, sync_client
from core.times import ms_of
from live.roster import load as load_roster
from tests.conftest import Wired
from tests.helpers import Conference, post_signed
from tests.live.test_transcript import say, state, transcriber


def archived(wired: Wired, sid: str, who: str = "mina") -> dict | None:  # type: ignore[type-arg]
    with wired.api(who) as http:
        answer = http.get(f"/api/history/{sid}")
    return answer.json() if answer.status_code == 200 else None


def raised(wired: Wired, sid: str) -> set[str]:
    """The alerts the once-a-second pass noted the live call had (what the archive keeps)."""
    settings = wired.service.settings
    assert settings is not None and settings.redis_url
    redis = sync_client(RedisTarget(settings.redis_url, False, None))
    try:
        found = redis.smembers(Keys(settings.namespace).raised(sid))
        return {m.decode() if isinstance(m, bytes) else str(m) for m in found}
    finally:
        redis.close()


@pytest.fixture
def floor(wiring: Callable[..., Wired]) -> Wired:
    wired = wiring(EARPIECE_TRANSCRIPTION_GRACE_SECONDS="1", EARPIECE_RECONCILE_SECONDS="1")
    transcriber(wired)
    return wired


def test_a_calls_whole_life_is_archived_once_with_recording_transcript_and_listeners(
    floor: Wired,
) -> None:
    call = floor.new_call("tara")  # billing: transcribed and recorded
    sid, customer = call["conference_sid"], call["customer_call_sid"]
    floor.wait(lambda: state(floor, sid) == "on", 10)
    recorder = floor.sim.thread.app.state.recorder
    floor.wait(lambda: any(r.call_sid == customer for r in recorder.recordings.values()), 10)
    with floor.api("mina") as manager:
        assert manager.post(f"/api/conferences/{sid}/monitors",
                            json={"mode": "listen"}).status_code == 201  # fmt: skip
        floor.wait(lambda: (floor.monitor(sid, "mina") or {}).get("status") == "connected")
        say(floor, sid, customer, "I want to cancel my account today")
        floor.wait(lambda: "phrase" in (floor.conference(sid) or {}).get("alerts", []), 10)
        floor.wait(lambda: "phrase" in raised(floor, sid), 10)  # the once-a-second pass noted it
        paused = manager.post(f"/api/conferences/{sid}/transcript/pause")
        assert paused.status_code == 200
        (rec,) = [r for r in recorder.recordings.values() if r.call_sid == customer]
        assert rec.status == "paused"  # the card is not in the audio either
        assert manager.delete(f"/api/conferences/{sid}/transcript/pause").status_code == 200
        assert rec.status == "in-progress"
        assert manager.delete(f"/api/conferences/{sid}/monitors/mina").status_code == 204
    floor.act(sid, "leave", customer)  # the customer hangs up: the call ends
    floor.wait(lambda: archived(floor, sid) is not None, 15)
    # Twilio (the simulator) processes the recording a while after the call ended: its
    # `completed` reaches the archived record when it comes (issue 21).
    floor.wait(lambda: [r["status"] for r in (archived(floor, sid) or {})["recordings"]]
               == ["completed"], 15)  # fmt: skip
    call_doc = archived(floor, sid) or {}
    assert call_doc["agent"] == "tara" and call_doc["team"] == "billing"
    assert "phrase" in call_doc["alerts"] and call_doc["monitored"] is True
    assert [m["supervisor"] for m in call_doc["monitors"]] == ["mina"]
    assert call_doc["monitors"][0]["mode"] == "listen" and call_doc["monitors"][0]["until"]
    assert [line["text"] for line in call_doc["transcript"]] == [
        "I want to cancel my account today"
    ]
    (recording,) = call_doc["recordings"]
    assert recording["sid"] == rec.sid and recording["status"] == "completed"
    # The payment's pause is not in the file (PauseBehavior skip): the record says which span,
    # so a transcript line after it plays where it is in the file (archive/playback.py).
    (gap,) = recording["skipped"]
    assert ms_of(recording["started_at"]) <= ms_of(gap["from"]) <= ms_of(gap["until"])
    assert ms_of(gap["until"]) <= ms_of(call_doc["ended_at"])
    assert recording["duration"] is not None
    assert {"conference-start", "conference-end"} <= {e["event"] for e in call_doc["timeline"]}
    assert call_doc["customer"].startswith("+") and "•" in call_doc["customer"]  # masked
    # Exactly once: the end noted again (a repeat, a second process) writes nothing more.
    settings = floor.service.settings
    assert settings is not None and settings.redis_url and settings.archive_url
    redis = sync_client(RedisTarget(settings.redis_url, False, None))
    try:
        redis.zadd(Keys(settings.namespace).ended, {sid: 1})
        floor.wait(lambda: redis.zcard(Keys(settings.namespace).ended) == 0, 10)
    finally:
        redis.close()
    with sqlite3.connect(settings.archive_url.removeprefix("sqlite:///")) as db:
        assert db.execute("SELECT count(*) FROM calls WHERE sid = ?", (sid,)).fetchone()[0] == 1
    # The recording plays through Earpiece (audited), never from Twilio's URL.
    with floor.api("quincy") as qa:
        audio = qa.get(f"/api/history/{sid}/recordings/{rec.sid}")
        assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
        assert audio.content[:4] == b"RIFF" and len(audio.content) > 1000
        audit = qa.get("/api/audit").json()["entries"]
    assert any(e["action"] == "playback" and e["supervisor"] == "quincy" for e in audit)
    # Reading its words from the archive is audited as reading them live is: the call
    # read whole, and a search of what was said (never with the words searched for).
    with floor.api("quincy") as qa:
        assert qa.get(f"/api/history/{sid}").status_code == 200
        found = qa.get("/api/history", params={"q": "cancel my account"}).json()["calls"]
        assert [c["sid"] for c in found] == [sid]
        assert qa.get("/api/history", params={"team": "billing"}).status_code == 200
        audit = qa.get("/api/audit").json()["entries"]
    reads = [(e["conference_sid"], e["detail"]) for e in audit
             if e["action"] == "words-read" and e["supervisor"] == "quincy"]  # fmt: skip
    assert sorted(reads) == [
        ("", "GET /api/history?q= (words of every team)"),
        (sid, "GET /api/history/{sid}"),
    ], reads


def test_a_call_whose_end_was_lost_is_archived_by_the_reconciler(floor: Wired) -> None:
    """Callbacks of a conference Twilio (here the simulator) does not know: its end never
    comes; the reconciler ends it, and the archive keeps it."""
    settings = floor.service.settings
    assert settings is not None
    conf = Conference("WT-lost")
    customer, agent = "CA" + "1" * 32, "CA" + "2" * 32
    with httpx.Client(base_url=floor.service.url, timeout=10) as http:
        for params in (
            conf.event("participant-join", customer, ParticipantLabel="customer"),
            conf.event("conference-start"),
            conf.event("participant-join", agent, ParticipantLabel="agent:bob"),
        ):
            assert (
                post_signed(http, settings, "/twilio/conference-events", params).status_code == 204
            )
    floor.wait(lambda: archived(floor, conf.sid) is not None, 20)
    call_doc = archived(floor, conf.sid) or {}
    assert call_doc["agent"] == "bob" and call_doc["reason"].startswith("reconciled")


def test_who_may_search_hear_and_review(floor: Wired) -> None:
    call = floor.new_call("uma")  # billing
    sid = call["conference_sid"]
    floor.wait(lambda: state(floor, sid) == "on", 10)
    floor.act(sid, "end")
    floor.wait(lambda: archived(floor, sid) is not None, 15)
    with floor.api() as token:
        assert token.get("/api/history").status_code == 403  # the shared token: no archive
    with floor.api("uma", "agent") as agent:
        assert agent.get("/api/history").status_code == 403
    with floor.api("ana") as other_lead:  # sales-east
        assert other_lead.get("/api/history").json()["calls"] == []
        assert other_lead.get(f"/api/history/{sid}").status_code == 404
        assert other_lead.get("/api/history?team=billing").status_code == 403
        assert other_lead.post(f"/api/history/{sid}/reviews",
                               json={"score": 50}).status_code == 404  # fmt: skip
    with floor.api("ken") as lead:  # billing's lead
        (found,) = lead.get("/api/history?agent=uma").json()["calls"]
        assert found["sid"] == sid and found["reviewed"] is False
        bad = lead.post(f"/api/history/{sid}/reviews",
                        json={"score": 80, "criteria": {"Invented": True}})  # fmt: skip
        assert bad.status_code == 422
        # A number JSON cannot hold: said where, not only "must be a JSON object".
        huge = lead.post(f"/api/history/{sid}/reviews", content=b'{"score": 1e999}',
                         headers={"Content-Type": "application/json"})  # fmt: skip
        assert huge.status_code == 422 and "infinity" in huge.json()["error"]["message"]
        made = lead.post(f"/api/history/{sid}/reviews", json={
            "score": 85, "notes": "=HYPERLINK(\"http://evil\")",
            "criteria": {"Verified the caller": True, "Resolved": False}})  # fmt: skip
        assert made.status_code == 201, made.text
        assert made.json()["reviewer"] == "ken" and made.json()["agent"] == "uma"
        assert lead.get("/api/history?reviewed=true").json()["calls"][0]["sid"] == sid
        exported = lead.get("/api/reviews.csv?agent=uma")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows[0]["notes"].startswith("'=HYPERLINK")  # a spreadsheet shows it as text
    # Every criterion of the lead's teams is a column, in the roster's order, marked or not
    # (a QA trial found only the marked ones, in code point order).
    header = next(csv.reader(io.StringIO(exported.text)))
    billing = list(load_roster(None).teams["billing"].review)
    at = header.index(billing[0])
    assert header[at : at + len(billing)] == billing
    assert rows[0]["Greeted and gave their name"] == ""  # not marked: an empty cell
    assert rows[0]["Verified the caller"] == "pass" and rows[0]["Resolved"] == "fail"
    with floor.api("quincy") as qa:
        assert [r["score"] for r in qa.get("/api/reviews?agent=uma").json()["reviews"]] == [85]
        audit = qa.get("/api/audit").json()["entries"]
    assert {"review", "export"} <= {e["action"] for e in audit}
    # Issue 28: saving again edits the reviewer's review (no second one), and a criterion
    # may be N/A (null), exported as n/a.
    with floor.api("ken") as lead:
        again = lead.post(f"/api/history/{sid}/reviews", json={
            "score": 90, "criteria": {"Verified the caller": True, "Resolved": None}})  # fmt: skip
        assert again.status_code == 201, again.text
        assert again.json()["id"] == made.json()["id"]
        zero = lead.post(f"/api/history/{sid}/reviews", json={"score": -0.0})
        assert zero.status_code == 201 and str(zero.json()["score"]) == "0.0"  # not -0.0
        again = lead.post(f"/api/history/{sid}/reviews", json={
            "score": 90, "criteria": {"Verified the caller": True, "Resolved": None}})  # fmt: skip
        assert again.status_code == 201, again.text
        mine = lead.get("/api/reviews?agent=uma").json()["reviews"]
        assert [(r["score"], r["criteria"]) for r in mine] == [
            (90, {"Verified the caller": True, "Resolved": None})
        ]
        rows = list(csv.DictReader(io.StringIO(lead.get("/api/reviews.csv?agent=uma").text)))
    assert [(r["Verified the caller"], r["Resolved"]) for r in rows] == [("pass", "n/a")]


def test_recording_callbacks_are_signed_and_checked_for_sense(floor: Wired) -> None:
    settings = floor.service.settings
    assert settings is not None
    good = {"AccountSid": "AC" + "0" * 32, "CallSid": "CA" + "3" * 32,
            "RecordingSid": "RE" + "4" * 32, "RecordingStatus": "completed",
            "RecordingDuration": "12", "RecordingChannels": "2",
            "RecordingSource": "StartCallRecordingAPI"}  # fmt: skip
    path = "/twilio/recording-events"
    with httpx.Client(base_url=floor.service.url, timeout=10) as http:
        assert http.post(path, data=good, headers={"X-Twilio-Signature": "x"}).status_code == 403
        for change, reason in [({"RecordingSid": "=cmd|' /C calc'!A0"}, "RecordingSid"),
                               ({"RecordingStatus": "party"}, "RecordingStatus"),
                               ({"RecordingDuration": "twelve"}, "RecordingDuration"),
                               ({"CallSid": "CAnope"}, "CallSid")]:  # fmt: skip
            answer = post_signed(http, settings, path, {**good, **change})
            assert answer.status_code == 400 and reason in answer.json()["error"]["message"]
        unknown = post_signed(http, settings, path, good)  # a recording of no call Earpiece knows
        assert unknown.status_code == 204 and unknown.headers["x-earpiece-outcome"] == "unknown"
