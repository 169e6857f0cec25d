"""Absurd numbers in signed callbacks answer 400 naming the field, never 500 (issue 21 §3).

A TaskRouter `TimestampMs` of `inf` or `1e400` once reached `int(float(...))` and
answered 500 (OverflowError); a `TaskPriority` of `1e300` went into Redis as a
300-digit integer; a `RecordingDuration` of `10**30` broke the JSON encoder. Every
signed webhook of the service is listed below with the numeric fields Twilio sends it:
those Earpiece reads, and those it does not. A hypothesis test posts, correctly signed
(so each passes the signature and reaches the parsers), a valid callback with one numeric
field replaced by an absurd value, and checks:

- never a 5xx (and never a 403: the signature is right);
- a field Earpiece reads: 400, and the reason names the field; the callback's resource
  (its conference, task or recording) is not in Redis;
- a field Earpiece does not read: accepted as the same callback would be without it;
- after every post, nothing in the floor's Redis holds a number a reader cannot use
  (non-finite, or past 2**53, what a browser's JSON parser holds exactly), nor the
  absurd text itself.

`test_the_table_covers_every_signed_webhook` fails when a signed webhook is added to the
app without being listed here.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from core.redis_client import RedisTarget, sync_client
from tests.conftest import Wired
from tests.helpers import post_signed, sid

SAFE = 2**53
# What no numeric field of any Twilio callback can be. Empty is not here: an empty field
# is an absent one, which a callback may well be.
ABSURD = [
    "inf", "-inf", "Infinity", "nan", "NaN", "1e400", "-1e400", "1e300", "-1e15", "1e15",
    str(10**30), "-" + str(10**30), "9" * 40, "9" * 5000, "1_000", " 7", "7 ", "0x1F",
    "\uff11\uff12", "\u0663", "\u00b2",  # full-width 12, Arabic-Indic 3, superscript 2
    "12abc", "--1", "+-3", "1.5.5", "1e3", ".", "-", "0b11", "∞",
]  # fmt: skip


def absurd_values() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(ABSURD),
        st.integers(min_value=10**17).map(str),
        st.integers(max_value=-(10**17)).map(str),
        st.floats(allow_nan=True, allow_infinity=True)
        .filter(lambda f: not math.isfinite(f) or abs(f) >= 1e17)
        .map(repr),
    )


def now_rfc2822() -> str:
    return format_datetime(datetime.now(UTC).replace(microsecond=0))


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Webhook:
    """One signed webhook: how to make a valid callback of it, and its numeric fields."""

    path: str
    make: Callable[[dict[str, str]], dict[str, str]]  # the live call -> a valid callback
    read: tuple[str, ...]  # numeric fields Earpiece reads: absurd -> 400 naming them
    ignored: tuple[str, ...] = ()  # numeric fields Twilio sends that Earpiece does not read
    # The Redis key that holds what the callback would create (None: it creates nothing).
    resource: Callable[[str, dict[str, str]], str | None] = lambda tag, params: None


def conference_event(call: dict[str, str]) -> dict[str, str]:
    return {"AccountSid": "AC" + "0" * 32, "ConferenceSid": sid("CF"), "FriendlyName": "task",
            "StatusCallbackEvent": "participant-join", "SequenceNumber": "1",
            "Timestamp": now_rfc2822(), "CallSid": sid("CA"), "ParticipantLabel": "customer",
            "Muted": "false", "Hold": "false", "Coaching": "false",
            "EndConferenceOnExit": "true", "StartConferenceOnEnter": "false"}  # fmt: skip


def call_event(call: dict[str, str]) -> dict[str, str]:
    # Twilio's call-progress callback (FIELD-NOTES: completed carries Duration and
    # SipResponseCode; every one SequenceNumber and Timestamp).
    return {"AccountSid": "AC" + "0" * 32, "CallSid": sid("CA"), "CallStatus": "completed",
            "SequenceNumber": "3", "Timestamp": now_rfc2822(), "CallDuration": "12",
            "Duration": "1", "SipResponseCode": "200"}  # fmt: skip


def taskrouter_event(call: dict[str, str]) -> dict[str, str]:
    now = time.time()
    return {"EventType": "task-queue.entered", "AccountSid": "AC" + "0" * 32,
            "WorkspaceSid": "WS" + "0" * 32, "ResourceType": "Task", "Sid": sid("EV"),
            "Timestamp": str(int(now)), "TimestampMs": str(int(now * 1000)),
            "TaskSid": sid("WT"), "TaskQueueSid": "WQ" + "a" * 32, "TaskQueueName": "sales",
            "TaskAssignmentStatus": "pending", "TaskPriority": "1", "TaskAge": "3",
            "TaskQueueEnteredDate": str(int(now) - 3), "TaskDateCreated": str(int(now) - 3),
            "TaskAttributes": json.dumps({"call_sid": sid("CA"), "from": "+15551230000"}),
            "WorkerTimeInPreviousActivityMs": "1200"}  # fmt: skip


def transcription(event: str) -> Callable[[dict[str, str]], dict[str, str]]:
    def make(call: dict[str, str]) -> dict[str, str]:
        params = {"AccountSid": "AC" + "0" * 32, "CallSid": call["customer_call_sid"],
                  "TranscriptionSid": sid("GT"), "Timestamp": now_iso(), "SequenceId": "1",
                  "TranscriptionEvent": event}  # fmt: skip
        if event == "transcription-content":
            words = '{"transcript": "はい", "confidence": 0.9}'
            params.update({"Track": "inbound_track", "Final": "false", "LanguageCode": "ja-JP",
                           "TranscriptionData": words})  # fmt: skip
        else:
            params.update({"TranscriptionError": "busy", "TranscriptionErrorCode": "32655"})
        return params

    return make


def recording_event(call: dict[str, str]) -> dict[str, str]:
    return {"AccountSid": "AC" + "0" * 32, "CallSid": call["customer_call_sid"],
            "RecordingSid": sid("RE"), "RecordingStatus": "completed",
            "RecordingDuration": "42", "RecordingChannels": "2",
            "RecordingStartTime": now_rfc2822(), "RecordingSource": "StartCallRecordingAPI",
            "RecordingTrack": "both", "ErrorCode": "0"}  # fmt: skip


def twiml_request(call: dict[str, str]) -> dict[str, str]:
    # Twilio's voice request carries no numeric field Earpiece could read.
    return {"AccountSid": "AC" + "0" * 32, "CallSid": sid("CA"), "CallStatus": "ringing",
            "From": "+15551230000", "To": "+15551239999"}  # fmt: skip


WEBHOOKS = {
    "conference": Webhook("/twilio/conference-events", conference_event,
                          read=("SequenceNumber", "Timestamp"),
                          resource=lambda tag, p: f"{tag}:conf:{p['ConferenceSid']}"),
    "call": Webhook("/twilio/call-events", call_event, read=(),
                    ignored=("SequenceNumber", "Timestamp", "CallDuration", "Duration",
                             "SipResponseCode")),
    "taskrouter": Webhook("/twilio/taskrouter-events", taskrouter_event,
                          read=("TimestampMs", "Timestamp", "TaskPriority",
                                "TaskQueueEnteredDate", "TaskDateCreated"),
                          ignored=("TaskAge", "WorkerTimeInPreviousActivityMs"),
                          resource=lambda tag, p: f"{tag}:tr:task:{p['TaskSid']}"),
    "transcription-content": Webhook("/twilio/transcription-events",
                                     transcription("transcription-content"),
                                     read=("SequenceId", "Timestamp")),
    "transcription-error": Webhook("/twilio/transcription-events",
                                   transcription("transcription-error"),
                                   read=("SequenceId", "Timestamp", "TranscriptionErrorCode")),
    "recording": Webhook("/twilio/recording-events", recording_event,
                         read=("RecordingDuration", "RecordingChannels"),
                         ignored=("ErrorCode",),
                         resource=lambda tag, p: f"{tag}:recidx"),
    "twiml-customer": Webhook("/twilio/twiml/customer?task=WT" + "1" * 32, twiml_request,
                              read=()),
    "twiml-agent": Webhook("/twilio/twiml/agent?task=WT" + "1" * 32 + "&agent=bob",
                           twiml_request, read=()),
}  # fmt: skip


def fields() -> st.SearchStrategy[tuple[str, str]]:
    pairs = [(name, f) for name, hook in WEBHOOKS.items() for f in hook.read + hook.ignored]
    return st.sampled_from(pairs)


# -- what Redis holds ---------------------------------------------------------------------


def _numbers(value: Any) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)


def _texts(redis: Any, key: str) -> list[bytes]:
    kind = redis.type(key).decode()
    if kind == "string":
        return [redis.get(key) or b""]
    if kind == "hash":
        return [v for pair in redis.hgetall(key).items() for v in pair]
    if kind == "zset":
        return [m for m, _ in redis.zrange(key, 0, -1, withscores=True)]
    if kind == "stream":
        return [v for _, entry in redis.xrevrange(key, count=200) for v in entry.values()]
    if kind == "set":
        return list(redis.smembers(key))
    if kind == "list":
        return list(redis.lrange(key, 0, -1))
    return []


def poison_in(redis: Any, tag: str, absurd: str) -> list[str]:
    """What in the floor's keys no reader can use: a number that is not finite or past
    2**53 (in a JSON document, a hash value, a sorted set's score), or the absurd text."""
    found = []
    # The absurd text as a word of its own: "1e15" inside a hex SID is not it.
    needle = None
    if len(absurd.strip()) >= 3 and any(c.isdigit() for c in absurd):
        needle = re.compile(rb"(?<![0-9A-Za-z.+-])" + re.escape(absurd.strip().encode())
                            + rb"(?![0-9A-Za-z.])")  # fmt: skip
    for key in redis.scan_iter(match=tag + "*", count=500):
        name = key.decode()
        if redis.type(key).decode() == "zset":
            for member, score in redis.zrange(key, 0, -1, withscores=True):
                if not math.isfinite(score) or abs(score) > SAFE:
                    found.append(f"{name} {member!r} score {score}")
        for raw in _texts(redis, key):
            if needle is not None and needle.search(raw):
                found.append(f"{name} holds {absurd!r}")
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            for number in _numbers(value):
                if not math.isfinite(number) or abs(number) > SAFE:
                    found.append(f"{name} holds the number {number}")
    return found


# -- the tests ----------------------------------------------------------------------------


@pytest.fixture
def live_call(wired: Wired) -> Iterator[tuple[Wired, dict[str, str]]]:
    yield wired, wired.new_call("bob")


def _post(wired: Wired, hook: Webhook, params: dict[str, str]) -> Any:
    settings = wired.service.settings
    assert settings is not None
    with wired.service.client() as http:
        return post_signed(http, settings, hook.path, params)


def _redis(wired: Wired) -> tuple[Any, str]:
    settings = wired.service.settings
    assert settings is not None and settings.redis_url is not None
    return sync_client(RedisTarget(settings.redis_url, False, None)), "{" + settings.namespace + "}"


def test_every_webhook_accepts_its_valid_callback(
    live_call: tuple[Wired, dict[str, str]],
) -> None:
    """The property test's starting points are good callbacks: a 400 there is the field's."""
    wired, call = live_call
    for name, hook in WEBHOOKS.items():
        answer = _post(wired, hook, hook.make(call))
        assert answer.status_code in (200, 204), (name, answer.status_code, answer.text)


@examples(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(chosen=fields(), absurd=absurd_values())
def test_an_absurd_number_is_a_400_naming_the_field_and_reaches_nothing(
    live_call: tuple[Wired, dict[str, str]], chosen: tuple[str, str], absurd: str
) -> None:
    wired, call = live_call
    name, field_name = chosen
    hook = WEBHOOKS[name]
    params = hook.make(call)
    params[field_name] = absurd
    answer = _post(wired, hook, params)
    assert answer.status_code < 500, (name, field_name, absurd, answer.text)
    assert answer.status_code != 403, "the test signs every callback"
    redis, tag = _redis(wired)
    try:
        if field_name in hook.read:
            assert answer.status_code == 400, (name, field_name, absurd, answer.status_code)
            message = answer.json()["error"]["message"]
            assert field_name in message, (field_name, absurd, message)
            key = hook.resource(tag, params)
            if key is not None and key.endswith(":recidx"):
                assert redis.hget(key, params["RecordingSid"]) is None
            elif key is not None:
                assert not redis.exists(key), f"{key} was written by a refused callback"
        else:
            assert answer.status_code in (200, 204), (name, field_name, absurd, answer.text)
        assert poison_in(redis, tag, absurd) == []
    finally:
        redis.close()


def test_the_cases_that_answered_500_are_400s_now(live_call: tuple[Wired, dict[str, str]]) -> None:
    """The examples the issue names, each on its own (the property test may not draw them)."""
    wired, call = live_call
    cases = [("taskrouter", "TimestampMs", "inf"), ("taskrouter", "TimestampMs", "1e400"),
             ("taskrouter", "TaskPriority", "1e300"),
             ("taskrouter", "TaskQueueEnteredDate", "-1e15"),
             ("recording", "RecordingDuration", str(10**30)),
             ("conference", "Timestamp", "Sat, 01 Jan 0000 00:00:00 +0000"),
             ("transcription-content", "SequenceId", "\u00b2")]  # fmt: skip
    for name, field_name, absurd in cases:
        hook = WEBHOOKS[name]
        params = hook.make(call)
        params[field_name] = absurd
        answer = _post(wired, hook, params)
        assert answer.status_code == 400, (name, field_name, absurd, answer.text)
        assert field_name in answer.json()["error"]["message"]


def test_the_table_covers_every_signed_webhook(wired: Wired) -> None:
    from callbacks.webhooks import SignedWebhook

    app = wired.service.app
    signed = {route.path for route in app.routes
              if isinstance(getattr(route, "endpoint", None), SignedWebhook)}  # fmt: skip
    listed = {hook.path.split("?")[0] for hook in WEBHOOKS.values()}
    assert signed and signed == listed


def test_numbers_in_api_queries_are_read_as_strictly(wired: Wired) -> None:
    """The same care for a person's query string: a superscript two passes str.isdigit()
    and then fails int() (a 500), where a 422 with the reason is due."""
    odd = "\u00b2"
    with wired.api("mina") as http:
        for path in (f"/api/history?limit={odd}", f"/api/history?min_seconds={odd}",
                     f"/events/board?limit={odd}"):  # fmt: skip
            answer = http.get(path)
            assert answer.status_code == 422, (path, answer.status_code, answer.text)
            assert answer.json()["error"]["message"]
        # A reason that quotes what was sent is one line still, however long that was.
        unknown = http.get("/api/conferences/CF" + "x" * 5000)
        assert unknown.status_code == 404
        assert len(unknown.json()["error"]["message"]) <= 300, unknown.text[:400]
        # A cursor is the API's own `next`, opaque to the caller: a wrong one is said so.
        for cursor in (odd, "0", "abc", str(2**63)):
            answer = http.get(f"/api/history?cursor={cursor}")
            assert answer.status_code == 422 and answer.json()["error"]["message"] == (
                "cursor is not one this API gave: pass the `next` of the page before"
            ), answer.text
        # An alert no call raises, and a search whose bytes are not UTF-8, were an empty page
        # and every call (a newcomer's trial): both are mistakes to say.
        answer = http.get("/api/history?alert=nonsense")
        assert answer.status_code == 422 and "dead-air" in answer.json()["error"]["message"]
        answer = http.get("/api/history?q=%ff%fe")
        assert answer.status_code == 422 and answer.json()["error"]["message"] == (
            "q must be UTF-8 text"
        ), answer.text
        # Dates the wrong way round: said, not an empty page that reads as "no call then".
        today = time.strftime("%Y-%m-%d")
        earlier = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 3 * 86400))
        answer = http.get(f"/api/history?from={today}&to={earlier}")
        assert answer.status_code == 422 and answer.json()["error"]["message"] == (
            "from is after to"
        ), answer.text
        assert http.get(f"/api/history?from={earlier}&to={earlier}").status_code == 200
        edge = http.get("/api/history?from=0001-01-01&to=9999-12-31")
        assert edge.status_code == 422 and edge.json()["error"]["message"] == (
            "to is outside the dates the archive can search"
        ), edge.text
        for nothing in ("%E3%80%82", "!!!", "%E2%80%8B"):  # 。, punctuation, a zero-width space
            answer = http.get(f"/api/history?q={nothing}")
            assert answer.status_code == 422, (nothing, answer.text)
        assert http.get("/api/history?alert=phrase&q=%E8%A7%A3%E7%B4%84").status_code == 200


def test_more_digits_than_python_converts_are_refused_not_a_500(
    live_call: tuple[Wired, dict[str, str]],
) -> None:
    """Review of issue 21: a run of ASCII digits passes `str.isascii() and str.isdigit()`, but
    `int()` refuses more than 4,300 of them (ValueError, Python 3.11's limit on integer
    strings): /api/history's limit, cursor and seconds, the board's limit and a
    transcription's SequenceId answered 500. Each is a 400 or 422 with the reason now, and
    every numeric field of every webhook gets the same value."""
    wired, call = live_call
    huge = "9" * 5000
    for name, hook in WEBHOOKS.items():
        for field_name in hook.read + hook.ignored:
            params = hook.make(call)
            params[field_name] = huge
            answer = _post(wired, hook, params)
            assert answer.status_code < 500, (name, field_name, answer.text[:200])
            if field_name in hook.read:
                assert answer.status_code == 400, (name, field_name, answer.status_code)
                assert field_name in answer.json()["error"]["message"]
    with wired.api("mina") as http:
        for path in (f"/api/history?limit={huge}", f"/api/history?min_seconds={huge}",
                     f"/api/history?max_seconds={huge}", f"/api/history?cursor={huge}",
                     f"/events/board?limit={huge}"):  # fmt: skip
            answer = http.get(path)
            assert answer.status_code == 422, (path[:40], answer.status_code, answer.text[:200])
            assert answer.json()["error"]["message"]
