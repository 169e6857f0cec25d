"""Callbacks that come after their call left the floor still belong to it (issue 21 §2.2, §2.3).

A transcription's final that follows the hang-up joins the call's transcript in Redis, and
once the call was archived, its archive record and the archive's word search; on a second
service process that never saw the call too (the CallSid's conference is in Redis, not in a
process's memory). A recording's `completed`, with its duration, that arrives after the
archive reaches the record; a late `in-progress` after it changes nothing anywhere.
English and Japanese words alike.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from core.keys import Keys
from core.redis_client import RedisTarget, async_client, sync_client
from core.settings import Settings
from live.events import parse_conference_event
from live.late import left_call
from live.roster import load as load_roster
from live.store import LiveFloor, now_ms
from tests.archive.test_archive import archived
from tests.conftest import (
    ACCOUNT_SID,
    API_TOKEN,
    AUTH_TOKEN,
    SESSION_SECRET,
    Wired,
    make_settings,
)
from tests.helpers import Conference, ServerThread, post_signed, sid
from tests.live.test_scale_out import _ready
from tests.live.test_transcript import finals, iso_now, state, transcriber, transcript

WORDS = {
    "en": ("Thanks for your help goodbye", "One more thing my order number is late"),
    "ja": ("ありがとうございました 失礼します", "最後に 注文の 配送が 遅れています"),
}


@pytest.fixture
def floor(wiring: Callable[..., Wired]) -> Wired:
    wired = wiring(EARPIECE_TRANSCRIPTION_GRACE_SECONDS="1")
    transcriber(wired)
    return wired


@dataclass
class Process:
    """A service process the test posts to, signing as Twilio does for its URL."""

    url: str
    settings: Settings


@pytest.fixture
def other(floor: Wired, tmp_path: Path) -> Iterator[Process]:
    """A second callback-service process (a real `earpiece callbacks` subprocess, as
    tests/live/test_scale_out.py runs them) on the same Redis, namespace and archive: it never saw
    the call (its memory is its own) and takes the callbacks that come late."""
    first = floor.service.settings
    assert first is not None and first.redis_url and first.archive_url
    port = ServerThread.free_port()
    url = f"http://127.0.0.1:{port}"
    settings = make_settings(first.redis_url, first.namespace, url)
    assert settings.archive_url == first.archive_url
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EARPIECE_", "TWILIO_"))}
    env.update(
        REDIS_URL=first.redis_url, EARPIECE_NAMESPACE=first.namespace,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_BASE_URL=url,
        EARPIECE_API_TOKEN=API_TOKEN, EARPIECE_SESSION_SECRET=SESSION_SECRET,
        EARPIECE_DEMO="true", EARPIECE_ARCHIVE_URL=first.archive_url,
        EARPIECE_ARCHIVE_SETTLE_SECONDS="0.5", TWILIO_API_BASE_URL=floor.sim.url,
        EARPIECE_DATA_DIR=str(tmp_path),
    )  # fmt: skip
    with open(tmp_path / "other.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "earpiece.cli", "callbacks", "--port", str(port)],
            env=env, cwd=tmp_path, stdout=log, stderr=log,
        )  # fmt: skip
    try:
        _ready(port)
        yield Process(url, settings)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def final(call_sid: str, gt: str, seq: int, words: str, lang: str) -> dict[str, str]:
    """A transcription's final line, as Twilio posts it."""
    data = orjson.dumps({"transcript": words, "confidence": 0.9}).decode()
    return {"AccountSid": "AC" + "0" * 32, "CallSid": call_sid, "TranscriptionSid": gt,
            "Timestamp": iso_now(), "SequenceId": str(seq),
            "TranscriptionEvent": "transcription-content", "Track": "inbound_track",
            "Final": "true", "LanguageCode": "ja-JP" if lang == "ja" else "en-US",
            "TranscriptionData": data}  # fmt: skip


def post(service: ServerThread | Process, path: str, params: dict[str, str]) -> httpx.Response:
    assert service.settings is not None
    with httpx.Client(base_url=service.url, timeout=10) as http:
        return post_signed(http, service.settings, path, params)


def redis_of(wired: Wired) -> Any:
    settings = wired.service.settings
    assert settings is not None and settings.redis_url
    return sync_client(RedisTarget(settings.redis_url, False, None))


def history_search(wired: Wired, q: str) -> list[str]:
    with wired.api("mina") as http:
        answer = http.get("/api/history", params={"q": q})
    assert answer.status_code == 200, answer.text
    return [c["sid"] for c in answer.json()["calls"]]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_a_final_after_the_hang_up_joins_the_transcript_then_the_archive(
    floor: Wired, other: Process, lang: str
) -> None:
    goodbye, afterthought = WORDS[lang]
    call = floor.new_call("tara")  # billing: transcribed on every call
    sid, customer = call["conference_sid"], call["customer_call_sid"]
    floor.wait(lambda: state(floor, sid) == "on", 10)
    (running,) = transcriber(floor).listening(floor.sim.engine.conferences[sid])
    # The customer says goodbye and hangs up; Twilio (the simulator) settles the final after
    # the leave and the conference's end: the line is the call's, in Redis.
    with floor.sim.control() as http:
        said = http.post(f"/sim/conferences/{sid}/actions", json={
            "action": "say", "call_sid": customer, "text": goodbye, "hang_up": True})  # fmt: skip
    assert said.status_code == 200, said.text
    floor.wait(lambda: (floor.conference(sid) or {}).get("state") == "ended", 10)
    floor.wait(lambda: goodbye in finals(floor, sid), 10)
    line = next(x for x in transcript(floor, sid)["lines"] if x["text"] == goodbye)
    assert line["speaker"] == "customer" and line["final"] is True

    # The call is archived with its last words, found by them.
    floor.wait(lambda: archived(floor, sid) is not None, 15)
    assert [x["text"] for x in (archived(floor, sid) or {})["transcript"]] == [goodbye]
    assert sid in history_search(floor, goodbye)

    # Later still, a retried final reaches the second process: the call's archive record and
    # its search get it, after the line said before it; a repeat is taken once.
    late = final(customer, running.sid, running.sequence + 40, afterthought, lang)
    answer = post(other, "/twilio/transcription-events", late)
    assert answer.status_code == 204 and answer.headers["x-earpiece-outcome"] == "archived"
    again = post(other, "/twilio/transcription-events", late)
    assert again.headers["x-earpiece-outcome"] == "duplicate"
    floor.wait(lambda: len((archived(floor, sid) or {}).get("transcript") or ()) == 2, 10)
    lines = (archived(floor, sid) or {})["transcript"]
    assert [x["text"] for x in lines] == [goodbye, afterthought]
    assert lines[1]["speaker"] == "customer"
    assert sid in history_search(floor, afterthought)
    assert afterthought in finals(floor, sid)  # and in Redis while the call is there


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_a_final_on_a_process_that_never_saw_the_call_after_the_leave(
    floor: Wired, other: Process, lang: str
) -> None:
    """The customer leaves; its final goes to the other process, which resolves the CallSid
    through Redis. A card number in it is masked as any line is."""
    goodbye, _ = WORDS[lang]
    call = floor.new_call("uma")
    sid, customer = call["conference_sid"], call["customer_call_sid"]
    floor.wait(lambda: state(floor, sid) == "on", 10)
    gt = "GT" + uuid.uuid4().hex
    floor.act(sid, "leave", customer)
    floor.wait(lambda: (floor.conference(sid) or {}).get("state") == "ended", 10)
    answer = post(other, "/twilio/transcription-events", final(customer, gt, 7, goodbye, lang))
    assert answer.status_code == 204
    assert answer.headers["x-earpiece-outcome"] in {"late", "archived"}  # archived: a slow CI
    card = post(other, "/twilio/transcription-events",
                final(customer, gt, 8, "it is 4111 1111 1111 1111", lang))  # fmt: skip
    assert card.status_code == 204
    floor.wait(lambda: len(finals(floor, sid)) == 2, 10)
    assert finals(floor, sid) == [goodbye, "it is [card number]"]
    floor.wait(lambda: archived(floor, sid) is not None, 15)
    floor.wait(lambda: len((archived(floor, sid) or {}).get("transcript") or ()) == 2, 10)
    texts = [x["text"] for x in (archived(floor, sid) or {})["transcript"]]
    assert texts == [goodbye, "it is [card number]"]
    # A leg Earpiece never saw is still nobody's.
    stray = post(other, "/twilio/transcription-events",
                 final("CA" + uuid.uuid4().hex, gt, 9, goodbye, lang))  # fmt: skip
    assert stray.headers["x-earpiece-outcome"] == "unknown"


def test_a_recording_that_completes_after_the_archive_reaches_its_record(
    floor: Wired, other: Process
) -> None:
    call = floor.new_call("bob")  # sales-east: Earpiece records nothing itself here
    sid, customer = call["conference_sid"], call["customer_call_sid"]
    rid = "RE" + uuid.uuid4().hex
    status = {"AccountSid": "AC" + "0" * 32, "CallSid": customer, "RecordingSid": rid,
              "RecordingChannels": "2", "RecordingSource": "StartCallRecordingAPI"}  # fmt: skip
    path = "/twilio/recording-events"
    started = post(floor.service, path, {**status, "RecordingStatus": "in-progress"})
    assert started.headers["x-earpiece-outcome"] == "applied"
    floor.act(sid, "end")
    floor.wait(lambda: archived(floor, sid) is not None, 15)
    (before,) = (archived(floor, sid) or {})["recordings"]
    assert before["status"] == "in-progress" and before.get("duration") is None

    done = post(other, path, {**status, "RecordingStatus": "completed", "RecordingDuration": "42"})
    assert done.status_code == 204 and done.headers["x-earpiece-outcome"] == "archived"
    floor.wait(lambda: (archived(floor, sid) or {})["recordings"][0]["status"] == "completed", 10)
    (after,) = (archived(floor, sid) or {})["recordings"]
    assert after["sid"] == rid and after["duration"] == 42

    # A retried in-progress after the end: nothing moves back, in Redis or in the archive.
    back = post(other, path, {**status, "RecordingStatus": "in-progress"})
    assert back.status_code == 204 and back.headers["x-earpiece-outcome"] == "stale"
    absent = post(floor.service, path, {**status, "RecordingStatus": "absent"})
    assert absent.headers["x-earpiece-outcome"] == "stale"  # the first end is the end
    settings = floor.service.settings
    assert settings is not None
    redis = redis_of(floor)
    try:
        kept = orjson.loads(redis.hget(Keys(settings.namespace).recordings(sid), rid))
        floor.wait(lambda: redis.llen(Keys(settings.namespace).late) == 0, 10)
    finally:
        redis.close()
    assert kept["status"] == "completed" and kept["duration"] == 42
    (still,) = (archived(floor, sid) or {})["recordings"]
    assert still["status"] == "completed" and still["duration"] == 42


def test_a_late_in_progress_never_rolls_a_live_recording_back(floor: Wired) -> None:
    """Before any archive: `completed` then a retried `in-progress` (they cross on the way),
    on a call still live; and a pause and a resume still move both ways."""
    call = floor.new_call("carol")
    sid, customer = call["conference_sid"], call["customer_call_sid"]
    rid = "RE" + uuid.uuid4().hex
    status = {"AccountSid": "AC" + "0" * 32, "CallSid": customer, "RecordingSid": rid}
    path = "/twilio/recording-events"
    outcomes = [post(floor.service, path, {**status, "RecordingStatus": s, **extra})
                .headers["x-earpiece-outcome"]
                for s, extra in [("in-progress", {}), ("paused", {}), ("in-progress", {}),
                                 ("completed", {"RecordingDuration": "7"}),
                                 ("in-progress", {}), ("paused", {})]]  # fmt: skip
    assert outcomes == ["applied", "applied", "applied", "applied", "stale", "stale"]
    settings = floor.service.settings
    assert settings is not None
    redis = redis_of(floor)
    try:
        kept = orjson.loads(redis.hget(Keys(settings.namespace).recordings(sid), rid))
    finally:
        redis.close()
    assert kept["status"] == "completed" and kept["duration"] == 7


def dated(conf: Conference, name: str, call: str | None, ago: timedelta,
          label: str | None = None) -> dict[str, str]:  # fmt: skip
    """A conference callback dated `ago` before now."""
    extra = {"ParticipantLabel": label} if label else {}
    return conf.event(name, call, Timestamp=format_datetime(datetime.now(UTC) - ago), **extra)


def test_a_leg_that_left_is_remembered_for_a_bounded_time(redis_target: RedisTarget) -> None:
    """`{ns}:left` finds a leg's call after it left (and after the call ended) for
    `left_seconds`; older legs are no longer found, and are pruned as later calls end."""

    async def story() -> None:
        redis = async_client(redis_target)
        floor = LiveFloor(redis, namespace="l" + uuid.uuid4().hex[:10],
                          roster=load_roster(None), left_seconds=60)  # fmt: skip

        async def apply(*events: dict[str, str]) -> None:
            for params in events:
                await floor.apply(parse_conference_event(params, now_ms()))

        hour, now = timedelta(hours=1), timedelta(0)
        old, old_customer = Conference(), sid("CA")
        await apply(dated(old, "participant-join", old_customer, hour, "customer"),
                    dated(old, "conference-start", None, hour),
                    dated(old, "conference-end", None, hour))  # fmt: skip
        assert await left_call(redis, floor.keys, old_customer) is None  # an hour ago: gone
        assert await redis.hexists(floor.keys.left, old_customer)  # not pruned yet

        conf, customer, agent = Conference(), sid("CA"), sid("CA")
        await apply(dated(conf, "participant-join", customer, now, "customer"),
                    dated(conf, "participant-join", agent, now, "agent:tara"),
                    dated(conf, "participant-leave", customer, now, "customer"))  # fmt: skip
        assert await floor.call(customer) is None  # not on the live floor any more
        assert await left_call(redis, floor.keys, customer) == (conf.sid, "customer")
        await apply(dated(conf, "conference-end", None, now))
        assert await left_call(redis, floor.keys, agent) == (conf.sid, "agent:tara")
        assert not await redis.hexists(floor.keys.left, old_customer)  # pruned by that end
        assert await redis.zscore(floor.keys.left_until, old_customer) is None
        await redis.aclose()

    asyncio.run(story())
