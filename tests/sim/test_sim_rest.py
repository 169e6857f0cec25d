"""The real twilio SDK against the simulator, for every call coach makes, checked against
Twilio's OpenAPI schemas; and the simulator's refusals, in Twilio's error shape."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException

from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, Sim, start_sim
from tests.twilio_schema import problems, response_schema, schema_of

CONFERENCE = "api.v2010.account.conference"
PARTICIPANT = "api.v2010.account.conference.participant"
CALL = "api.v2010.account.call"
BASE = f"/2010-04-01/Accounts/{ACCOUNT_SID}"


def new_call(sim: Sim, agent: str = "bob") -> dict[str, str]:
    with sim.control() as http:
        response = http.post("/sim/calls", json={"agent": agent, "customer": "+819012345678"})
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def raw(sim: Sim, method: str, path: str, **kwargs: Any) -> httpx.Response:
    with httpx.Client(base_url=sim.url, auth=(ACCOUNT_SID, AUTH_TOKEN)) as http:
        return http.request(method, BASE + path, **kwargs)


def wait_until(predicate: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_every_answer_matches_twilio_schemas(sim: Sim) -> None:
    call = new_call(sim)
    cf = call["conference_sid"]
    participants = f"/Conferences/{cf}/Participants.json"
    created = raw(sim, "POST", participants, data={
        "From": "+15005550006", "To": "client:ana", "Label": "supervisor:ana", "Muted": "true",
    })  # fmt: skip
    assert created.status_code == 201
    checks = [
        (raw(sim, "GET", "/Conferences.json"), response_schema(
            "/2010-04-01/Accounts/{AccountSid}/Conferences.json", "get", "200")),
        (raw(sim, "GET", f"/Conferences/{cf}.json"), schema_of(CONFERENCE)),
        (created, schema_of(PARTICIPANT)),
        (raw(sim, "GET", participants), response_schema(
            "/2010-04-01/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants.json",
            "get", "200")),
        (raw(sim, "GET", f"/Conferences/{cf}/Participants/{call['agent_call_sid']}.json"),
         schema_of(PARTICIPANT)),
        (raw(sim, "GET", f"/Calls/{call['agent_call_sid']}.json"), schema_of(CALL)),
    ]  # fmt: skip
    for response, schema in checks:
        assert response.status_code in (200, 201), response.text
        assert problems(response.json(), schema) == [], response.request.url


def test_supervisor_join_switch_and_leave_through_the_sdk(sim: Sim) -> None:
    """Exactly the calls coach makes: create muted, coach the agent, barge, leave."""
    call = new_call(sim)
    cf, agent = call["conference_sid"], call["agent_call_sid"]
    client = sim.client()

    live = client.conferences.list(status="in-progress")
    assert [c.sid for c in live] == [cf]
    assert client.conferences(cf).fetch().friendly_name == call["friendly_name"]

    leg = client.conferences(cf).participants.create(
        from_="+15005550006", to="client:ana", label="supervisor:ana", muted=True, beep="false",
        coaching=False, start_conference_on_enter=True, end_conference_on_exit=False,
        status_callback="http://127.0.0.1:9/twilio/call-events",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
    )  # fmt: skip
    assert leg.muted is True and leg.label == "supervisor:ana"
    assert leg.status in ("queued", "connecting", "ringing")
    wait_until(
        lambda: client.conferences(cf).participants(leg.call_sid).fetch().status == "connected"
    )

    # Fetch by label, as Twilio allows.
    by_label = client.conferences(cf).participants("supervisor:ana").fetch()
    assert by_label.call_sid == leg.call_sid

    whisper = (
        client.conferences(cf)
        .participants(leg.call_sid)
        .update(muted=False, coaching=True, call_sid_to_coach=agent)
    )
    assert (whisper.muted, whisper.coaching, whisper.call_sid_to_coach) == (False, True, agent)
    barge = client.conferences(cf).participants(leg.call_sid).update(coaching=False)
    assert (barge.coaching, barge.call_sid_to_coach, barge.call_sid) == (False, None, leg.call_sid)
    listening = client.conferences(cf).participants(leg.call_sid).update(muted=True)
    assert listening.muted is True

    coached = client.conferences(cf).participants.list(coaching=True)
    assert coached == []
    assert client.conferences(cf).participants(leg.call_sid).delete() is True
    with pytest.raises(TwilioRestException) as gone:
        client.conferences(cf).participants(leg.call_sid).fetch()
    assert gone.value.status == 404
    # The call behind the leg has completed; the customer call goes on.
    assert client.calls(leg.call_sid).fetch().status == "completed"
    assert client.conferences(cf).fetch().status == "in-progress"


def test_end_a_conference_and_hang_up_a_call(sim: Sim) -> None:
    client = sim.client()
    first, second = new_call(sim), new_call(sim, "carol")
    assert client.calls(first["customer_call_sid"]).update(status="completed").status == "completed"
    # The customer has endConferenceOnExit: the conference ended with them.
    ended = client.conferences(first["conference_sid"]).fetch()
    assert ended.status == "completed"
    assert ended.reason_conference_ended == "participant-with-end-conference-on-exit-left"
    assert ended.call_sid_ending_conference == first["customer_call_sid"]

    updated = client.conferences(second["conference_sid"]).update(status="completed")
    assert updated.status == "completed"
    assert updated.reason_conference_ended == "conference-ended-via-api"
    assert client.calls(second["agent_call_sid"]).fetch().status == "completed"


def test_conference_list_filters_and_pages(sim: Sim) -> None:
    calls = [new_call(sim, f"agent{i}") for i in range(5)]
    client = sim.client()
    client.conferences(calls[0]["conference_sid"]).update(status="completed")
    # The SDK follows next_page_uri across pages of 2.
    live = client.conferences.list(status="in-progress", page_size=2)
    assert sorted(c.sid for c in live) == sorted(c["conference_sid"] for c in calls[1:])
    named = client.conferences.list(friendly_name=calls[2]["friendly_name"])
    assert [c.sid for c in named] == [calls[2]["conference_sid"]]
    page = raw(sim, "GET", "/Conferences.json", params={"PageSize": 2, "Page": 1}).json()
    assert (page["page"], page["page_size"], page["start"], len(page["conferences"])) == (
        1,
        2,
        2,
        2,
    )
    assert page["next_page_uri"] and page["previous_page_uri"]


@pytest.mark.parametrize(
    ("change", "code", "status"),
    [
        ({"Coaching": "true"}, 16028, 400),  # coaching without CallSidToCoach
        ({"Coaching": "true", "CallSidToCoach": "CA" + "9" * 32}, 16028, 400),  # not a participant
        ({"To": None}, 21201, 400),
        ({"From": None}, 21213, 400),
    ],
)
def test_participant_create_refusals(
    sim: Sim, change: dict[str, str | None], code: int, status: int
) -> None:
    call = new_call(sim)
    form: dict[str, str] = {"From": "+15005550006", "To": "client:ana", "Label": "supervisor:ana"}
    for key, value in change.items():
        if value is None:
            form.pop(key)
        else:
            form[key] = value
    response = raw(
        sim, "POST", f"/Conferences/{call['conference_sid']}/Participants.json", data=form
    )
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code
    assert set(body) == {"code", "message", "more_info", "status"}
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"


def supervisor_leg(sim: Sim) -> tuple[dict[str, str], Any, Any]:
    """A call, its conference (SDK), and a supervisor's leg connected to it."""
    call = new_call(sim)
    conference = sim.client().conferences(call["conference_sid"])
    leg = conference.participants.create(from_="+15005550006", to="client:ana")
    wait_until(lambda: conference.participants(leg.call_sid).fetch().status == "connected")
    return call, conference, leg


def test_coaching_a_participant_who_left_is_refused_through_the_sdk(sim: Sim) -> None:
    call, conference, leg = supervisor_leg(sim)
    cf = call["conference_sid"]
    # The agent hangs up; the conference goes on with the customer.
    with sim.control() as http:
        http.post(f"/sim/conferences/{cf}/actions",
                  json={"action": "leave", "call_sid": call["agent_call_sid"]})  # fmt: skip
    with pytest.raises(TwilioRestException) as refused:
        conference.participants(leg.call_sid).update(
            coaching=True, call_sid_to_coach=call["agent_call_sid"]
        )
    assert refused.value.code == 16028


def test_coaching_a_participant_on_hold_is_refused_with_16027(sim: Sim) -> None:
    """https://www.twilio.com/docs/api/errors/16027 (FIELD-NOTES, "Corrections")."""
    call, conference, leg = supervisor_leg(sim)
    conference.participants(call["agent_call_sid"]).update(hold=True)
    with pytest.raises(TwilioRestException) as refused:
        conference.participants(leg.call_sid).update(
            coaching=True, call_sid_to_coach=call["agent_call_sid"]
        )
    assert (refused.value.status, refused.value.code) == (400, 16027)


@pytest.mark.parametrize("label", ["a/b", "a%2Fb", "a%2fb", "x" * 129, "CA" + "1" * 32])
def test_a_label_twilio_refuses_is_16024(sim: Sim, label: str) -> None:
    """At most 128 characters, no "/", not shaped like a CallSid: 16024 on a participant
    create (16023 is <Dial><Conference>'s, https://www.twilio.com/docs/api/errors/16024)."""
    call = new_call(sim)
    with pytest.raises(TwilioRestException) as refused:
        sim.client().conferences(call["conference_sid"]).participants.create(
            from_="+15005550006", to="client:ana", label=label
        )
    assert (refused.value.status, refused.value.code) == (400, 16024)


def test_paths_that_take_a_conference_sid_do_not_take_its_name(sim: Sim) -> None:
    """twilio_api_v2010.json: fetching a conference, listing its participants and fetching,
    updating or removing one need ^CF[0-9a-fA-F]{32}$; only creating a participant takes a
    FriendlyName (and makes that conference)."""
    call = new_call(sim)
    client = sim.client()
    name = client.conferences(call["conference_sid"]).fetch().friendly_name
    base = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/{name}"
    with httpx.Client(base_url=sim.url, auth=(ACCOUNT_SID, AUTH_TOKEN)) as http:
        for path in (".json", "/Participants.json",
                     f"/Participants/{call['agent_call_sid']}.json"):  # fmt: skip
            answer = http.get(base + path)
            assert (answer.status_code, answer.json()["code"]) == (404, 20404), path
    made = client.conferences("a-room-by-name").participants.create(
        from_="+15005550006", to="client:ana", start_conference_on_enter=True
    )
    assert made.conference_sid.startswith("CF")


def test_a_dialled_leg_is_connecting_then_ringing_then_connected() -> None:
    """The Participant resource's statuses (participant_enum_status): queued, connecting,
    ringing, connected, complete, failed."""
    from twilio_sim.config import Endpoint

    # Each state lasts 0.6 s: polled every 50 ms, none is missed on a loaded machine (with the
    # default 50 ms ring, a CI run under load went from connecting straight to connected).
    slow = start_sim(None, connecting_seconds=0.6, default_endpoint=Endpoint("answer", 0.6))
    try:
        call = new_call(slow)
        conference = slow.client().conferences(call["conference_sid"])
        leg = conference.participants.create(from_="+15005550006", to="client:ana")
        seen = [leg.status]
        while seen[-1] != "connected":
            time.sleep(0.05)
            seen.append(conference.participants(leg.call_sid).fetch().status)
        order = [s for n, s in enumerate(seen) if n == 0 or s != seen[n - 1]]
        assert order[-3:] == ["connecting", "ringing", "connected"], seen
    finally:
        slow.thread.stop()


def test_conference_not_in_progress_and_unknown(sim: Sim) -> None:
    client = sim.client()
    call = new_call(sim)
    cf = call["conference_sid"]
    client.conferences(cf).update(status="completed")
    with pytest.raises(TwilioRestException) as ended:
        client.conferences(cf).participants.create(from_="+15005550006", to="client:ana")
    # https://www.twilio.com/docs/api/errors/16022: non-existent or completed conference.
    assert (ended.value.status, ended.value.code) == (400, 16022)
    with pytest.raises(TwilioRestException) as unknown:
        client.conferences("CF" + "0" * 32).fetch()
    assert (unknown.value.status, unknown.value.code) == (404, 20404)


def test_250_participants_at_most(sim: Sim) -> None:
    call = new_call(sim)
    path = f"/Conferences/{call['conference_sid']}/Participants.json"
    with httpx.Client(base_url=sim.url, auth=(ACCOUNT_SID, AUTH_TOKEN)) as http:
        for i in range(248):  # the customer and the agent are already there
            created = http.post(BASE + path, data={"From": "+15005550006", "To": f"client:x{i}"})
            assert created.status_code == 201, created.text
        full = http.post(BASE + path, data={"From": "+15005550006", "To": "client:one-more"})
    assert full.status_code == 400
    assert full.json()["code"] == 16020


def test_basic_auth_is_required(sim: Sim) -> None:
    call = new_call(sim)
    with pytest.raises(TwilioRestException) as refused:
        sim.client(token="wrong").conferences(call["conference_sid"]).fetch()
    assert (refused.value.status, refused.value.code) == (401, 20003)
    anonymous = httpx.get(f"{sim.url}{BASE}/Conferences.json")
    assert anonymous.status_code == 401
    other_account = raw(sim, "GET", "/Conferences.json").request.url.path.replace(
        ACCOUNT_SID, "AC" + "1" * 32
    )
    response = httpx.get(sim.url + other_account, auth=(ACCOUNT_SID, AUTH_TOKEN))
    assert response.status_code == 404


def test_unknown_paths_and_methods_answer_in_twilio_shape(sim: Sim) -> None:
    missing = raw(sim, "GET", "/Queues.json")
    assert (missing.status_code, missing.json()["code"]) == (404, 20404)
    wrong = raw(sim, "DELETE", "/Conferences.json")
    assert (wrong.status_code, wrong.json()["code"]) == (405, 20004)


def test_a_429_share_answers_too_many_requests() -> None:
    sim = start_sim(None, rest_429_share=1.0)
    try:
        with pytest.raises(TwilioRestException) as limited:
            sim.client().conferences("CF" + "0" * 32).fetch()
        assert (limited.value.status, limited.value.code) == (429, 20429)
    finally:
        sim.thread.stop()


def test_participant_creates_beyond_the_rate_are_queued() -> None:
    sim = start_sim(None, participant_creates_per_second=2.0)
    try:
        call = new_call(sim)
        client = sim.client()
        legs = [
            client.conferences(call["conference_sid"]).participants.create(
                from_="+15005550006", to=f"client:s{i}"
            )
            for i in range(3)
        ]
        queue_times = [int(leg.queue_time) for leg in legs]
        assert queue_times[0] < 100
        assert queue_times[1] >= 300 and queue_times[2] >= 800
        assert queue_times == sorted(queue_times)
    finally:
        sim.thread.stop()


def test_busy_no_answer_and_failed_legs_never_join(sim: Sim) -> None:
    call = new_call(sim)
    cf = call["conference_sid"]
    client = sim.client()
    with sim.control() as http:
        for to, outcome in (
            ("client:busy", "busy"),
            ("client:away", "no-answer"),
            ("client:x", "failed"),
        ):
            assert (
                http.put(
                    f"/sim/endpoints/{to}", json={"outcome": outcome, "delay": 0.05}
                ).status_code
                == 200
            )
    legs = {
        outcome: client.conferences(cf).participants.create(from_="+15005550006", to=to)
        for to, outcome in (
            ("client:busy", "busy"),
            ("client:away", "no-answer"),
            ("client:x", "failed"),
        )
    }
    for outcome, leg in legs.items():
        wait_until(
            lambda leg=leg, outcome=outcome: client.calls(leg.call_sid).fetch().status == outcome
        )
    assert len(client.conferences(cf).participants.list()) == 2
