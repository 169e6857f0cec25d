"""A conference that has not started (the caller alone with the wait music), and when a
conference starts, as Twilio's `<Conference>` page says (issue 21, §2.1 and §2.5).

- conference-start "occurs when there is at least one participant in the conference and a
  participant with startConferenceOnEnter=true joins"; until then everyone in it hears the
  wait music (https://www.twilio.com/docs/voice/twiml/conference);
- Twilio accepts a participant added to a conference that has not started, and one created
  with StartConferenceOnEnter=true (the create's default) starts it;
- Earpiece adds supervisors with startConferenceOnEnter=false, so Listen on a waiting caller
  leaves the caller on the wait music and the conference not started.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, Sim, Wired
from tests.helpers import Receiver

BASE = f"/2010-04-01/Accounts/{ACCOUNT_SID}"


def waiting_call(sim: Sim) -> dict[str, str]:
    """A customer alone in a conference, waiting for an agent (startConferenceOnEnter=false)."""
    with sim.control() as http:
        response = http.post("/sim/calls", json={"agent": "bob", "waiting": True})
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def hears(sim: Sim, sid: str) -> dict[str, Any]:
    """What each connected leg of the conference hears, by label, from the simulator."""
    with sim.control() as http:
        state = http.get("/sim/state").json()
    [conference] = [c for c in state["conferences"] if c["sid"] == sid]
    return {p["label"] or p["call_sid"]: p["hears"] for p in conference["participants"]
            if p["status"] == "connected"}  # fmt: skip


def wait_until(predicate: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_listen_on_a_waiting_caller_keeps_the_wait_music(wired: Wired) -> None:
    """Through Earpiece's API, the coach, the twilio SDK and the simulator: the add succeeds,
    the caller still hears the wait music, the conference has not started; the supervisor
    waits with the caller, and the agent's join starts the call for everyone."""
    call = waiting_call(wired.sim)
    sid = call["conference_sid"]
    wired.wait(lambda: wired.conference(sid) is not None)
    client = wired.sim.client()
    assert client.conferences(sid).fetch().status == "init"

    with wired.api("mina") as http:
        joined = http.post(f"/api/conferences/{sid}/monitors",
                           json={"supervisor": "mina", "mode": "listen"})  # fmt: skip
    assert joined.status_code == 201, joined.text
    leg = joined.json()["call_sid"]
    wired.wait(lambda: (wired.monitor(sid, "mina") or {}).get("status") == "connected")

    created = client.conferences(sid).participants(leg).fetch()
    assert (created.start_conference_on_enter, created.end_conference_on_exit) == (False, False)
    assert created.muted is True
    # Nothing changed for the caller: still waiting, still on the wait music.
    assert client.conferences(sid).fetch().status == "init"
    assert hears(wired.sim, sid) == {"customer": "wait-music", "supervisor:mina": "wait-music"}
    board = wired.conference(sid)
    assert board is not None and board["state"] == "waiting"
    assert [m["status"] for m in board["monitors"]] == ["connected"]

    # The agent's join starts the conference: now everyone hears the call.
    agent = client.conferences(sid).participants.create(
        from_="+15005550006", to="client:bob", label="agent:bob", start_conference_on_enter=True
    )
    wait_until(lambda: client.conferences(sid).fetch().status == "in-progress")
    assert hears(wired.sim, sid) == {
        "customer": "conference", "supervisor:mina": "conference", "agent:bob": "conference",
    }  # fmt: skip
    wired.wait(lambda: (wired.conference(sid) or {}).get("state") == "talking")
    assert agent.call_sid != leg


def test_leaving_a_waiting_call_leaves_the_caller_waiting(wired: Wired) -> None:
    """A supervisor's leg neither starts nor ends the call: hanging it up leaves the caller
    where they were."""
    call = waiting_call(wired.sim)
    sid = call["conference_sid"]
    wired.wait(lambda: wired.conference(sid) is not None)
    with wired.api("mina") as http:
        assert (
            http.post(
                f"/api/conferences/{sid}/monitors", json={"supervisor": "mina", "mode": "listen"}
            ).status_code
            == 201
        )
    wired.wait(lambda: (wired.monitor(sid, "mina") or {}).get("status") == "connected")
    with wired.api("mina") as http:
        assert http.delete(f"/api/conferences/{sid}/monitors/mina").status_code == 204
    client = wired.sim.client()
    assert client.conferences(sid).fetch().status == "init"
    assert hears(wired.sim, sid) == {"customer": "wait-music"}


def test_twilio_accepts_an_add_to_a_conference_that_has_not_started(sim: Sim) -> None:
    """Twilio's behaviour, not only Earpiece's choice: with startConferenceOnEnter=false the
    new leg waits too; with the create's default (true) it starts the conference, and the
    caller's wait music stops. That is why supervisor legs pass false."""
    call = waiting_call(sim)
    sid = call["conference_sid"]
    conference = sim.client().conferences(sid)
    quiet = conference.participants.create(
        from_="+15005550006", to="client:ana", label="supervisor:ana",
        start_conference_on_enter=False, end_conference_on_exit=False, muted=True,
    )  # fmt: skip
    wait_until(lambda: conference.participants(quiet.call_sid).fetch().status == "connected")
    assert conference.fetch().status == "init"
    assert hears(sim, sid) == {"customer": "wait-music", "supervisor:ana": "wait-music"}

    loud = conference.participants.create(from_="+15005550006", to="client:ken", label="ken")
    assert loud.start_conference_on_enter is True  # the create's default
    wait_until(lambda: conference.fetch().status == "in-progress")
    assert set(hears(sim, sid).values()) == {"conference"}


def test_conference_start_comes_with_the_second_participant(sim: Sim, receiver: Receiver) -> None:
    """The statusCallbackEvent table: a participant with startConferenceOnEnter=true starts
    the conference only when someone is already in it. A lone agent (a busy answer's
    duplicate, FIELD-NOTES 4) hears the wait music and the conference has not started."""
    with sim.control() as http:
        made = http.post("/sim/scenarios/busy-duplicate", json={"agent": "bob"}).json()
    sim.drain()
    lonely = made["duplicate_conference_sid"]
    assert [p["StatusCallbackEvent"] for p in receiver.events(lonely)] == ["participant-join"]
    assert sim.client().conferences(lonely).fetch().status == "init"
    assert hears(sim, lonely) == {"agent:bob": "wait-music"}

    # A customer who waits (false) and then an agent (true): the start follows the agent's
    # join, in sequence.
    call = waiting_call(sim)
    sim.client().conferences(call["conference_sid"]).participants.create(
        from_="+15005550006", to="client:bob", label="agent:bob"
    )
    receiver.wait_for(lambda: any(p["StatusCallbackEvent"] == "conference-start"
                                  for p in receiver.events(call["conference_sid"])))  # fmt: skip
    sim.drain()
    story = sorted(receiver.events(call["conference_sid"]), key=lambda p: int(p["SequenceNumber"]))
    assert [(p["StatusCallbackEvent"], p.get("ParticipantLabel")) for p in story] == [
        ("participant-join", "customer"),
        ("participant-join", "agent:bob"),
        ("conference-start", None),
    ]


def test_an_agent_waiting_alone_is_joined_by_a_caller_and_the_conference_starts(
    sim: Sim, receiver: Receiver
) -> None:
    """The other order (review of issue 21): a moderator (an agent, startConferenceOnEnter
    true) alone hears the wait music; a caller who joins them (false) starts it, as
    https://www.twilio.com/docs/voice/conference says ("will not start until the moderator
    joins"; with none, "starts when the second participant joins"). Before, the simulator
    started a conference only on a startConferenceOnEnter leg's own join, so this call
    stayed on the wait music for good, which no Twilio conference does."""
    conference = sim.client().conferences("agent-first-room")
    agent = conference.participants.create(
        from_="+15005550006", to="client:bob", label="agent:bob",
        conference_status_callback=receiver.url + "/conference-events",
        conference_status_callback_event=["start", "end", "join", "leave"],
    )  # fmt: skip
    sid = agent.conference_sid
    room = sim.client().conferences(sid)
    wait_until(lambda: room.participants(agent.call_sid).fetch().status == "connected")
    assert room.fetch().status == "init"
    assert hears(sim, sid) == {"agent:bob": "wait-music"}

    caller = room.participants.create(
        from_="+15005550006", to="+815012345678", label="customer",
        start_conference_on_enter=False, end_conference_on_exit=True,
    )  # fmt: skip
    wait_until(lambda: room.fetch().status == "in-progress")
    assert hears(sim, sid) == {"agent:bob": "conference", "customer": "conference"}
    receiver.wait_for(lambda: any(p["StatusCallbackEvent"] == "conference-start"
                                  for p in receiver.events(sid)))  # fmt: skip
    sim.drain()
    story = sorted(receiver.events(sid), key=lambda p: int(p["SequenceNumber"]))
    assert [(p["StatusCallbackEvent"], p.get("CallSid")) for p in story] == [
        ("participant-join", agent.call_sid),
        ("participant-join", caller.call_sid),
        ("conference-start", None),
    ]


def test_a_conference_made_by_a_participant_create_reports_start_and_end_by_default(
    sim: Sim, receiver: Receiver
) -> None:
    """ConferenceStatusCallbackEvent defaults to `start end` (twilio_api_v2010.json): no
    join or leave callbacks unless asked for."""
    conference = sim.client().conferences("a-room-by-name")
    first = conference.participants.create(
        from_="+15005550006", to="client:ana", label="ana",
        conference_status_callback=receiver.url + "/conference-events",
    )  # fmt: skip
    second = conference.participants.create(from_="+15005550006", to="client:ken", label="ken")
    assert first.conference_sid == second.conference_sid
    sid = first.conference_sid
    receiver.wait_for(lambda: any(p["StatusCallbackEvent"] == "conference-start"
                                  for p in receiver.events(sid)))  # fmt: skip
    sim.client().conferences(sid).update(status="completed")
    sim.drain()
    assert [p["StatusCallbackEvent"] for p in receiver.events(sid)] == [
        "conference-start", "conference-end",
    ]  # fmt: skip


def test_participant_create_error_codes(sim: Sim) -> None:
    """16022 (no such conference, or completed), 16024 (invalid label), 16026 (a label in
    use): https://www.twilio.com/docs/api/errors/16022, /16024, /16026."""
    call = waiting_call(sim)
    sid = call["conference_sid"]
    path = f"{BASE}/Conferences/{sid}/Participants.json"
    with httpx.Client(base_url=sim.url, auth=(ACCOUNT_SID, AUTH_TOKEN)) as http:
        form = {"From": "+15005550006", "To": "client:ana"}
        assert http.post(path, data={**form, "Label": "supervisor:ana"}).status_code == 201
        taken = http.post(path, data={**form, "Label": "supervisor:ana"})
        bad = http.post(path, data={**form, "Label": "a/b"})
        http.post(f"{BASE}/Conferences/{sid}.json", data={"Status": "completed"})
        ended = http.post(path, data=form)
        unknown = http.post(f"{BASE}/Conferences/CF{'0' * 32}/Participants.json", data=form)
    for answer, code in ((taken, 16026), (bad, 16024), (ended, 16022), (unknown, 16022)):
        assert (answer.status_code, answer.json()["code"]) == (400, code), answer.text
        assert answer.json()["more_info"] == f"https://www.twilio.com/docs/errors/{code}"


def test_a_call_twilio_has_ended_is_refused_clearly(wired: Wired) -> None:
    """The floor still shows a call whose end never arrived; Twilio answers the add with
    16022, and the supervisor is told the call has ended (a 409, not a 502)."""
    call = wired.new_call("bob")
    sid = call["conference_sid"]
    with wired.sim.control() as http:
        http.put("/sim/reliability", json={"drop": 1.0})  # the end callback is lost
    wired.sim.client().conferences(sid).update(status="completed")
    with wired.api("mina") as http:
        refused = http.post(
            f"/api/conferences/{sid}/monitors", json={"supervisor": "mina", "mode": "listen"}
        )
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "twilio-16022"
    assert "Twilio refused (16022)" in error["message"] and "the call has ended" in error["message"]


@pytest.mark.parametrize(
    ("code", "status", "name", "words"),
    [(16022, 409, "twilio-16022", "the call has ended"),
     (16026, 409, "twilio-16026", "already on this call"),
     (16024, 422, "bad-supervisor-id", "roster id")],
)  # fmt: skip
def test_participant_create_refusals_read_clearly(
    code: int, status: int, name: str, words: str
) -> None:
    """Each participant-create refusal says what Twilio said and what it means for the
    supervisor, with a status that is not a 502 (nothing is wrong with Twilio)."""
    from twilio.base.exceptions import TwilioRestException

    from core.twilio_calls import _coach_error

    refused = _coach_error(TwilioRestException(400, "https://api.twilio.com/x", "no", code))
    assert (refused.status, refused.code) == (status, name)
    assert refused.message.startswith(f"Twilio refused ({code}): no — ")
    assert words in refused.message
