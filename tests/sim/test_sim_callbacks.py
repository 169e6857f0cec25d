"""The simulator's callbacks: signed as Twilio signs, with Twilio's parameters, in sequence."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Sim, start_sim
from tests.helpers import Receiver

PARTICIPANT_PARAMS = {
    "AccountSid", "ConferenceSid", "FriendlyName", "StatusCallbackEvent", "SequenceNumber",
    "Timestamp", "CallSid", "Muted", "Hold", "Coaching", "EndConferenceOnExit",
    "StartConferenceOnEnter", "ParticipantLabel",
}  # fmt: skip


def new_call(sim: Sim, agent: str = "bob") -> dict[str, str]:
    with sim.control() as http:
        body: dict[str, str] = http.post("/sim/calls", json={"agent": agent}).json()
    return body


def act(sim: Sim, cf: str, action: str, call_sid: str | None = None) -> None:
    with sim.control() as http:
        response = http.post(
            f"/sim/conferences/{cf}/actions", json={"action": action, "call_sid": call_sid}
        )
    assert response.status_code == 200, response.text


def test_a_call_makes_signed_conference_callbacks_in_sequence(sim: Sim, receiver: Receiver) -> None:
    call = new_call(sim)
    cf, customer, agent = call["conference_sid"], call["customer_call_sid"], call["agent_call_sid"]
    act(sim, cf, "speech-start", customer)
    act(sim, cf, "speech-stop", customer)
    act(sim, cf, "hold", customer)
    act(sim, cf, "unhold", customer)
    act(sim, cf, "mute", agent)
    act(sim, cf, "leave", customer)  # endConferenceOnExit: the conference ends
    sim.drain()

    assert receiver.received and all(r.valid for r in receiver.received)
    events = sorted(receiver.events(cf), key=lambda p: int(p["SequenceNumber"]))
    assert [int(p["SequenceNumber"]) for p in events] == list(range(1, len(events) + 1))
    assert [p["StatusCallbackEvent"] for p in events] == [
        "participant-join",  # the customer waits: startConferenceOnEnter=false
        "participant-join",  # the agent joins ...
        "conference-start",  # ... and starts it
        "participant-speech-start",
        "participant-speech-stop",
        "participant-hold",
        "participant-unhold",
        "participant-mute",
        "participant-leave",  # the customer
        "participant-leave",  # the agent, because the conference ends
        "conference-end",
    ]
    join = events[0]
    assert set(join) >= PARTICIPANT_PARAMS
    assert (join["CallSid"], join["ParticipantLabel"], join["EndConferenceOnExit"]) == (
        customer,
        "customer",
        "true",
    )
    assert events[5]["Hold"] == "true" and events[6]["Hold"] == "false"
    assert events[7]["Muted"] == "true" and events[7]["CallSid"] == agent
    leave = events[8]
    assert leave["ReasonParticipantLeft"] and leave["ParticipantCallStatus"] == "completed"
    end = events[-1]
    assert end["ReasonConferenceEnded"] == "participant-with-end-conference-on-exit-left"
    assert end["CallSidEndingConference"] == customer
    assert all(r.headers.get("i-twilio-idempotency-token") for r in receiver.received)
    assert all(p["Timestamp"].endswith("+0000") for p in events)


def test_call_progress_callbacks_of_a_created_participant(sim: Sim, receiver: Receiver) -> None:
    call = new_call(sim)
    cf = call["conference_sid"]
    client = sim.client()
    leg = client.conferences(cf).participants.create(
        from_="+15005550006", to="client:ana", label="supervisor:ana",
        status_callback=receiver.url + "/call-events",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
    )  # fmt: skip
    receiver.wait_for(lambda: any(
        r.params.get("StatusCallbackEvent") == "participant-join"
        and r.params.get("CallSid") == leg.call_sid for r in receiver.received
    ))  # fmt: skip
    client.conferences(cf).participants(leg.call_sid).delete()
    sim.drain()
    progress = [r.params for r in receiver.received if r.path == "/call-events"]
    assert all(r.valid for r in receiver.received)
    assert [p["CallStatus"] for p in sorted(progress, key=lambda p: int(p["SequenceNumber"]))] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert {p["CallSid"] for p in progress} == {leg.call_sid}
    assert progress[0]["CallbackSource"] == "call-progress-events"


def test_a_busy_leg_reports_busy_and_never_joins(sim: Sim, receiver: Receiver) -> None:
    call = new_call(sim)
    with sim.control() as http:
        http.put("/sim/endpoints/client:ana", json={"outcome": "busy", "delay": 0.01})
    leg = sim.client().conferences(call["conference_sid"]).participants.create(
        from_="+15005550006", to="client:ana", status_callback=receiver.url + "/call-events",
        status_callback_event=["completed"],
    )  # fmt: skip
    receiver.wait_for(lambda: any(r.path == "/call-events" for r in receiver.received))
    sim.drain()
    [completed] = [r.params for r in receiver.received if r.path == "/call-events"]
    assert completed["CallStatus"] == "busy" and completed["SipResponseCode"] == "486"
    assert completed["SequenceNumber"] == "0"  # call progress is numbered from 0
    assert completed["CallDuration"] == "0" and completed["Duration"] == "0"
    # It never joins, and Twilio still says it left: with the call's status and why.
    [left] = [
        p for p in receiver.events(call["conference_sid"]) if p.get("CallSid") == leg.call_sid
    ]
    assert left["StatusCallbackEvent"] == "participant-leave"
    assert left["ParticipantCallStatus"] == "busy"
    assert left["ReasonParticipantLeft"] == "participant_add_failed"


def test_an_unanswered_leg_ends_with_sip_487(sim: Sim, receiver: Receiver) -> None:
    """A leg nobody answers: Twilio CANCELs the INVITE at its timeout, and the call ends
    no-answer with SipResponseCode 487 (Request Terminated, RFC 3261 9.2; a real Twilio
    no-answer callback: https://github.com/somleng/somleng-switch/issues/7). A ringing leg
    hung up through the API (the coach's sweep) ends canceled, 487 too."""
    call = new_call(sim)
    with sim.control() as http:
        http.put("/sim/endpoints/client:away", json={"outcome": "no-answer"})
        http.put("/sim/endpoints/client:slow", json={"outcome": "answer", "delay": 30})
    conference = sim.client().conferences(call["conference_sid"])
    legs = {
        to: conference.participants.create(
            from_="+15005550006", to=to, status_callback=receiver.url + "/call-events",
            status_callback_event=["completed"],
        ).call_sid
        for to in ("client:away", "client:slow")
    }  # fmt: skip
    receiver.wait_for(lambda: conference.participants(legs["client:slow"]).fetch().status
                      == "ringing")  # fmt: skip
    conference.participants(legs["client:slow"]).delete()
    receiver.wait_for(lambda: len([r for r in receiver.received if r.path == "/call-events"]) == 2)
    ended = {r.params["CallSid"]: r.params for r in receiver.received if r.path == "/call-events"}
    away, slow = ended[legs["client:away"]], ended[legs["client:slow"]]
    assert (away["CallStatus"], away["SipResponseCode"]) == ("no-answer", "487")
    assert (slow["CallStatus"], slow["SipResponseCode"]) == ("canceled", "487")


def test_busy_answer_makes_a_duplicate_conference(sim: Sim, receiver: Receiver) -> None:
    """FIELD-NOTES 4: the agent's join after a busy answer makes a second conference."""
    with sim.control() as http:
        made = http.post("/sim/scenarios/busy-duplicate", json={"agent": "bob"}).json()
    sim.drain()
    first = receiver.events(made["ended_conference_sid"])
    second = receiver.events(made["duplicate_conference_sid"])
    assert first[-1]["StatusCallbackEvent"] == "conference-end"
    assert {p["FriendlyName"] for p in first} == {p["FriendlyName"] for p in second}
    # Alone, the agent does not start it (conference-start needs someone already there).
    assert [p["StatusCallbackEvent"] for p in second] == ["participant-join"]
    assert second[0]["ParticipantLabel"] == "agent:bob"


@pytest.mark.parametrize(
    ("knob", "expect"),
    [("drop", "none"), ("duplicate", "twice")],
)
def test_unreliable_delivery_on_purpose(receiver: Receiver, knob: str, expect: str) -> None:
    sim = start_sim(receiver.url + "/conference-events")
    try:
        with sim.control() as http:
            http.put("/sim/reliability", json={knob: 1.0})
        call = new_call(sim)
        sim.drain()
        got = receiver.events(call["conference_sid"])
        stats = sim.engine.deliverer.stats
        if expect == "none":
            assert got == [] and stats["dropped"] == stats["sent"] == 3
        else:
            assert len(got) == 6 and stats["duplicated"] == 3
            tokens = [r.headers["i-twilio-idempotency-token"] for r in receiver.received]
            assert len(set(tokens)) == 3  # each copy carries its original's token
    finally:
        sim.thread.stop()


def test_reordered_delivery_still_delivers_everything(receiver: Receiver) -> None:
    sim = start_sim(receiver.url + "/conference-events")
    try:
        with sim.control() as http:
            http.put("/sim/reliability", json={"reorder": 0.5})
        for agent in ("bob", "carol", "dave"):
            new_call(sim, agent)
        sim.drain()
        stats = sim.engine.deliverer.stats
        assert stats["reordered"] > 0
        assert stats["delivered"] == stats["sent"] == 9
    finally:
        sim.thread.stop()


def test_failed_deliveries_are_retried_then_given_up() -> None:
    """No connection overrides: Twilio tries once more on a connection failure, no more."""
    sim = start_sim("http://127.0.0.1:9/nowhere")  # nothing listens there
    try:
        new_call(sim)
        sim.drain(seconds=15)
        stats = sim.engine.deliverer.stats
        assert stats["failed"] == 3 and stats["retried"] == 3
    finally:
        sim.thread.stop()


@pytest.mark.parametrize(("fragment", "tries"), [("", 1), ("#rc=2&rp=5xx", 3), ("#rc=3&rp=ct", 1)])
def test_a_5xx_is_retried_only_as_the_urls_connection_overrides_say(
    receiver: Receiver, fragment: str, tries: int
) -> None:
    """Twilio retries a 5xx only if the URL's `rp` names it, `rc` times
    (https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides); the
    fragment is neither requested nor signed."""
    receiver.status = 503
    sim = start_sim(receiver.url + "/conference-events" + fragment)
    try:
        new_call(sim)
        sim.drain(seconds=15)
        stats = sim.engine.deliverer.stats
        sent = stats["sent"]
        assert sent == 3  # a join, the start, the agent's join
        assert len(receiver.received) == sent * tries
        assert stats["failed"] == sent and stats["retried"] == sent * (tries - 1)
        assert all(r.valid for r in receiver.received)  # signed without the fragment
        assert all(r.path == "/conference-events" for r in receiver.received)
    finally:
        sim.thread.stop()


def test_an_account_signing_with_a_shared_key_reaches_the_floor(
    redis_target: Any, namespace: str
) -> None:
    """The simulator signs as a Webhook Rule with a SharedKey makes Twilio sign; Earpiece,
    given the key (TWILIO_WEBHOOK_SHARED_KEYS), takes the callbacks, and without it 403s."""
    from earpiece.service import create_app
    from tests.conftest import API_TOKEN, make_settings
    from tests.helpers import ServerThread, stop_all

    for keys, shown in (("webhooks_sharedkey_9=shh", True), ("", False)):
        port = ServerThread.free_port()
        base = f"http://127.0.0.1:{port}"
        sim = start_sim(base + "/twilio/conference-events",
                        shared_key=("webhooks_sharedkey_9", "shh"))  # fmt: skip
        extra = {"TWILIO_WEBHOOK_SHARED_KEYS": keys} if keys else {}
        settings = make_settings(redis_target.url, namespace + str(shown), base, **extra)
        service = ServerThread(create_app(settings, redis_target), port, settings)
        service.start()
        try:
            call = new_call(sim)
            sim.drain()
            with service.client(API_TOKEN) as http:
                found = http.get(f"/api/conferences/{call['conference_sid']}").status_code
            assert (found == 200) is shown
            refused = sim.engine.deliverer.stats["refused-403"]
            assert (refused == 0) is shown
        finally:
            stop_all(sim.thread, service)
