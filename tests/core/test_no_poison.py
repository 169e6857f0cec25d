"""No poison: a signed callback can still carry nonsense, and one bad record must never
break the floor for everyone (issue 13: a signed Timestamp of year 9999 once made the API
answer 500, the dashboard show a traceback and the SSE reader stop for 40 s).

A hypothesis test posts generated signed callbacks (valid, odd and hostile) to a running
service while a real call is live, and checks after each that nothing answered 500, the
API still lists the floor with the good call in it, and an SSE stream still delivers a
change to the good call.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from email.utils import format_datetime

import orjson
import pytest
from httpx_sse import connect_sse
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from core.redis_client import RedisTarget, sync_client
from tests.conftest import Wired
from tests.helpers import Conference, post_signed, rfc2822, sid

PATH = "/twilio/conference-events"
EVENTS = ["participant-join", "participant-leave", "participant-hold", "participant-modify",
          "participant-speech-start", "conference-start", "conference-end", "nonsense"]  # fmt: skip
HOSTILE = [
    "Sat, 01 Jan 9999 00:00:00 +0000", "Thu, 01 Jan 1970 00:00:00 +0000", "yesterday",
    "-1", "99999999999", "=HYPERLINK(\"http://evil.example\")", "![x](http://evil.example/a.png)",
    "<img src=x onerror=alert(1)>", "agent:" + "x" * 300, "customer\n\n# heading", "\x00",
    "supervisor:mina", "agent:", ":red[LIVE]", "CA" + "g" * 32, "CF" + "0" * 31,
]  # fmt: skip


def _value() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30),
                     st.integers(-5, 2_000_000).map(str))  # fmt: skip


@st.composite
def callbacks(draw: st.DrawFn) -> dict[str, str]:
    """A callback that starts from a real one and has some fields replaced or removed."""
    conference = Conference(draw(st.sampled_from(["task", "", "x" * 300, "=1+1"])))
    conference.seq = draw(st.integers(0, 50))
    call = draw(st.sampled_from([sid("CA"), "CA", ""]))
    params = conference.event(
        draw(st.sampled_from(EVENTS)),
        call or None,
        ParticipantLabel=draw(
            st.sampled_from(["customer", "agent:bob", "supervisor:ana", "weird"])
        ),
    )
    params["Timestamp"] = format_datetime_now()
    for name in draw(st.lists(st.sampled_from([*sorted(params), "CallSidToCoach", "Reason"]),
                              max_size=4, unique=True)):  # fmt: skip
        if draw(st.booleans()):
            params[name] = draw(_value())
        else:
            params.pop(name, None)
    return params


def format_datetime_now() -> str:
    from datetime import UTC, datetime

    return format_datetime(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def live_call(wired: Wired) -> Iterator[tuple[Wired, dict[str, str]]]:
    yield wired, wired.new_call("bob")


@examples(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(params=callbacks())
def test_nonsense_callbacks_never_break_the_floor(
    live_call: tuple[Wired, dict[str, str]], params: dict[str, str]
) -> None:
    wired, call = live_call
    settings = wired.service.settings
    assert settings is not None
    with wired.service.client() as http:
        answer = post_signed(http, settings, PATH, params)
    assert answer.status_code in (204, 400), answer.text
    if answer.status_code == 400:
        assert answer.json()["error"]["message"]
    with wired.api("mina") as http:
        listed = http.get("/api/conferences")
        assert listed.status_code == 200, listed.text
        assert call["conference_sid"] in {c["sid"] for c in listed.json()["conferences"]}
        # The feed still carries the good call's next change to an open stream.
        with connect_sse(http, "GET", "/events") as source:
            customer = call["customer_call_sid"]
            muted = any(p["muted"] for p in (wired.conference(call["conference_sid"]) or {})
                        .get("participants", []) if p["call_sid"] == customer)  # fmt: skip
            wired.act(call["conference_sid"], "unmute" if muted else "mute", customer)
            for event in source.iter_sse():
                if event.event == "conference" and call["conference_sid"] in event.data:
                    people = json.loads(event.data)["participants"]
                    if any(p["call_sid"] == customer and p["muted"] != muted for p in people):
                        break


def test_a_year_9999_timestamp_is_refused_with_the_reason(wired: Wired) -> None:
    settings = wired.service.settings
    assert settings is not None
    conf = Conference()
    params = conf.event("participant-join", sid("CA"), ParticipantLabel="customer")
    params["Timestamp"] = "Sat, 01 Jan 9999 00:00:00 +0000"
    with wired.service.client() as http:
        answer = post_signed(http, settings, PATH, params)
    assert answer.status_code == 400
    assert "from now" in answer.json()["error"]["message"]
    assert wired.conference(conf.sid) is None
    assert rfc2822(0)  # the helpers' own callbacks are dated within the day


def test_an_unreadable_document_is_one_flagged_row_and_the_feed_goes_on(wired: Wired) -> None:
    """Whatever gets into Redis (a bug, an old version's document), the floor shows every
    other call, flags that one, and open streams keep receiving changes."""
    good = wired.new_call("bob")
    settings = wired.service.settings
    assert settings is not None and settings.redis_url is not None
    broken = "CF" + "e" * 32
    redis = sync_client(RedisTarget(settings.redis_url, False, None))
    tag = "{" + settings.namespace + "}"
    try:
        # A document of the wrong shape, on the live index and the feed like a real one.
        redis.set(f"{tag}:conf:{broken}", orjson.dumps({"sid": broken, "p": "not a table",
                                                        "started": "soon"}))  # fmt: skip
        redis.zadd(f"{tag}:live", {broken: time.time() * 1000})
        with wired.api("mina") as http, connect_sse(http, "GET", "/events") as source:
            redis.xadd(f"{tag}:feed", {"k": "conference", "sid": broken,
                                       "doc": orjson.dumps({"sid": broken, "p": 7})})  # fmt: skip
            wired.act(good["conference_sid"], "hold", good["customer_call_sid"])
            for event in source.iter_sse():
                if (event.event == "conference" and good["conference_sid"] in event.data
                        and json.loads(event.data)["state"] == "hold"):  # fmt: skip
                    break
        with wired.api("mina") as http:
            listed = http.get("/api/conferences")
        assert listed.status_code == 200
        by_sid = {c["sid"]: c for c in listed.json()["conferences"]}
        assert by_sid[broken]["alerts"] == ["unreadable"]
        assert by_sid[good["conference_sid"]]["state"] == "hold"
    finally:
        redis.zrem(f"{tag}:live", broken)
        redis.close()
