"""The callback service over HTTP: signatures, refusals with reasons, and the read API."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from starlette.testclient import TestClient

from core.redis_client import RedisTarget
from core.settings import Settings
from earpiece.service import create_app
from tests.conftest import API_TOKEN
from tests.helpers import Conference, post_signed, sid

PATH = "/twilio/conference-events"


@pytest.fixture
def client(settings: Settings, redis_target: RedisTarget) -> Iterator[TestClient]:
    app = create_app(settings, redis_target)
    with TestClient(app, base_url=settings.public_base_url or "") as c:
        yield c


def api(client: TestClient, path: str) -> httpx2.Response:
    return client.get(path, headers={"Authorization": f"Bearer {API_TOKEN}"})


def test_a_signed_join_shows_on_the_floor(client: TestClient, settings: Settings) -> None:
    conf = Conference("WT123")
    customer, agent = sid("CA"), sid("CA")
    for params in (
        conf.event(
            "participant-join", customer, ParticipantLabel="customer", EndConferenceOnExit=True
        ),
        conf.event("conference-start"),
        conf.event("participant-join", agent, ParticipantLabel="agent:bob"),
    ):
        response = post_signed(client, settings, PATH, params)
        assert response.status_code == 204, response.text
        assert response.headers["x-earpiece-outcome"] == "applied"

    floor = api(client, "/api/conferences").json()["conferences"]
    assert [c["sid"] for c in floor] == [conf.sid]
    [live] = floor
    assert live["state"] == "talking"
    assert live["friendly_name"] == "WT123"
    assert [p["role"] for p in live["participants"]] == ["customer", "agent"]

    assert api(client, f"/api/conferences/{conf.sid}").json()["sid"] == conf.sid
    assert api(client, f"/api/calls/{agent}").json() == {
        "call_sid": agent,
        "conference_sid": conf.sid,
        "friendly_name": "WT123",
        "label": "agent:bob",
        "role": "agent",
    }


def test_a_forged_callback_gets_403_and_changes_nothing(client: TestClient) -> None:
    conf = Conference()
    params = conf.event("participant-join", sid("CA"), ParticipantLabel="customer")
    for signature in ("", "bm90IGEgc2lnbmF0dXJl", None):
        headers = {"X-Twilio-Signature": signature} if signature is not None else {}
        response = client.post(PATH, data=params, headers=headers)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "bad-signature"
    assert api(client, "/api/conferences").json() == {"conferences": []}


def test_a_signature_for_another_url_is_refused(client: TestClient, settings: Settings) -> None:
    conf = Conference()
    params = conf.event("participant-join", sid("CA"), ParticipantLabel="customer")
    # The query is part of what Twilio signs: same query passes, another fails.
    assert post_signed(client, settings, PATH + "?x=1", params).status_code == 204
    from tests.helpers import sign

    signature = sign(settings.auth_token, settings.base_url + PATH + "?x=1", params)
    response = client.post(PATH + "?x=2", data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("drop", "reason"),
    [
        ("ConferenceSid", "ConferenceSid is missing"),
        ("StatusCallbackEvent", "StatusCallbackEvent is missing"),
    ],
)
def test_a_signed_callback_without_what_it_needs_gets_400(
    client: TestClient, settings: Settings, drop: str, reason: str
) -> None:
    params = Conference().event("participant-join", sid("CA"), ParticipantLabel="customer")
    del params[drop]
    response = post_signed(client, settings, PATH, params)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == reason


def test_an_unknown_event_gets_400(client: TestClient, settings: Settings) -> None:
    params = Conference().event("conference-party")
    response = post_signed(client, settings, PATH, params)
    assert response.status_code == 400
    assert "not a conference event" in response.json()["error"]["message"]


def test_an_oversize_body_gets_413(client: TestClient, settings: Settings) -> None:
    params = Conference().event("conference-start", Padding="x" * (settings.max_body_bytes + 1))
    response = post_signed(client, settings, PATH, params)
    assert response.status_code == 413


def test_a_body_that_is_not_utf8_is_refused_not_crashed(client: TestClient) -> None:
    response = client.post(
        PATH,
        content=b"\xff\xfe\x00garbage",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"},
    )
    assert response.status_code == 403


def test_retry_with_idempotency_token_is_a_duplicate(
    client: TestClient, settings: Settings
) -> None:
    params = Conference().event("participant-join", sid("CA"), ParticipantLabel="customer")
    headers = {"I-Twilio-Idempotency-Token": "abc-123"}
    first = post_signed(client, settings, PATH, params, **headers)
    again = post_signed(client, settings, PATH, params, **headers)
    assert first.headers["x-earpiece-outcome"] == "applied"
    assert again.headers["x-earpiece-outcome"] == "duplicate"


def test_the_api_needs_the_bearer_token(client: TestClient) -> None:
    for path in (
        "/api/conferences",
        f"/api/conferences/{sid('CF')}",
        f"/api/calls/{sid('CA')}",
        "/events",
    ):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"].startswith("Bearer")
        wrong = client.get(path, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401, path


def test_unknown_conference_and_call_are_404(client: TestClient) -> None:
    response = api(client, f"/api/conferences/{sid('CF')}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown-conference"
    assert api(client, f"/api/calls/{sid('CA')}").status_code == 404


def test_call_lookup_can_wait_for_the_join(client: TestClient, settings: Settings) -> None:
    """A softphone asks before its join callback has arrived (FIELD-NOTES 3)."""
    import threading

    conf = Conference()
    agent = sid("CA")
    params = conf.event("participant-join", agent, ParticipantLabel="agent:bob")
    timer = threading.Timer(0.3, lambda: post_signed(client, settings, PATH, params))
    timer.start()
    response = api(client, f"/api/calls/{agent}?wait=5")
    timer.join()
    assert response.status_code == 200
    assert response.json()["conference_sid"] == conf.sid
    assert api(client, f"/api/calls/{agent}?wait=forever").status_code == 422


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"redis": "ok"}


def test_wrong_method_and_path_are_json_errors(client: TestClient) -> None:
    assert client.get(PATH).status_code == 405
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not-found"


def test_alerts_move_with_the_clock_on_an_unchanged_conference(
    redis_target: RedisTarget, namespace: str
) -> None:
    """Regression: reads reuse the rendering of an unchanged document; its alerts must not
    be reused with it, since they change as time passes without any callback."""
    import math
    import time
    from email.utils import formatdate

    from tests.conftest import make_settings

    settings = make_settings(
        redis_target.url, namespace, "https://earpiece.example.com", EARPIECE_LONG_HOLD_SECONDS="3"
    )
    app = create_app(settings, redis_target)
    conf = Conference()
    caller = sid("CA")
    # Twilio's Timestamp has whole seconds: rounded up, the hold starts no earlier than now,
    # so a loaded machine has the whole threshold to make the first read (rounded down, a
    # 1 s threshold had sometimes passed before it).
    now = formatdate(math.ceil(time.time()), usegmt=False).replace("-0000", "+0000")
    with TestClient(app, base_url=settings.public_base_url or "") as client:
        for name, hold in (("participant-join", False), ("participant-hold", True)):
            params = conf.event(name, caller, ParticipantLabel="customer", Hold=hold, Timestamp=now)
            assert post_signed(client, settings, PATH, params).status_code == 204
        [before] = api(client, "/api/conferences").json()["conferences"]
        # Past the 3 s threshold (a read later on: it comes once time alone has moved).
        deadline = time.monotonic() + 15
        while True:
            time.sleep(0.2)
            [after] = api(client, "/api/conferences").json()["conferences"]
            if "long-hold" in after["alerts"] or time.monotonic() > deadline:
                break
    assert "long-hold" not in before["alerts"]
    assert "long-hold" in after["alerts"]
    # Alerts and signals (silence, hold time) move with the clock; nothing else may.
    assert {k: v for k, v in before.items() if k not in ("alerts", "signals")} == {
        k: v for k, v in after.items() if k not in ("alerts", "signals")
    }


_KNOWN = [
    "ConferenceSid", "StatusCallbackEvent", "SequenceNumber", "CallSid", "Timestamp",
    "Muted", "Hold", "Coaching", "ParticipantLabel", "CallSidToCoach", "FriendlyName",
]  # fmt: skip
_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["participant-join", "conference-end", "true", "false", "-1", "1e9", ""]),
    st.builds(lambda p: p + "a" * 32, st.sampled_from(["CF", "CA", "XX"])),
)


@examples(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(st.one_of(st.sampled_from(_KNOWN), st.text(max_size=10)), _VALUES, max_size=12)
)
def test_any_signed_body_gets_204_or_400_never_500(
    client: TestClient, settings: Settings, params: dict[str, str]
) -> None:
    response = post_signed(client, settings, PATH, params)
    assert response.status_code in (204, 400), response.text
    if response.status_code == 400:
        assert response.json()["error"]["message"]
