"""Listen, whisper and barge end to end: HTTP API -> coach -> twilio SDK -> simulator,
and back through the simulator's callbacks -> live/ -> the Conference JSON and the audit."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest

from core.redis_client import RedisTarget
from tests.conftest import Wired, wire
from tests.helpers import post_signed

# The demo roster: mina is a manager, ana leads sales-east (bob, carol, ...),
# ken leads support and billing, quincy is QA.


def join(wired: Wired, sid: str, who: str, mode: str = "listen", **extra: Any) -> Any:
    with wired.api(who) as http:
        return http.post(
            f"/api/conferences/{sid}/monitors", json={"supervisor": who, "mode": mode, **extra}
        )


def switch(wired: Wired, sid: str, who: str, mode: str, **extra: Any) -> Any:
    with wired.api(who) as http:
        return http.patch(f"/api/conferences/{sid}/monitors/{who}", json={"mode": mode, **extra})


def leave(wired: Wired, sid: str, who: str) -> Any:
    with wired.api(who) as http:
        return http.delete(f"/api/conferences/{sid}/monitors/{who}")


def connected(wired: Wired, sid: str, who: str) -> dict[str, Any]:
    wired.wait(lambda: (wired.monitor(sid, who) or {}).get("status") == "connected")
    monitor = wired.monitor(sid, who)
    assert monitor is not None
    return monitor


def audit(wired: Wired, **query: str) -> list[dict[str, Any]]:
    with wired.api("mina") as http:  # a manager reads the whole audit
        entries: list[dict[str, Any]] = http.get("/api/audit", params=query).json()["entries"]
    return entries


def flags(wired: Wired, sid: str, call_sid: str) -> tuple[bool, bool, str | None]:
    leg = wired.sim_leg(sid, call_sid)
    return leg.muted, leg.coaching, leg.call_sid_to_coach


def test_listen_whisper_barge_on_one_leg(wired: Wired) -> None:
    call = wired.new_call("bob")
    sid, agent = call["conference_sid"], call["agent_call_sid"]

    joined = join(wired, sid, "mina")
    assert joined.status_code == 201, joined.text
    body = joined.json()
    assert (body["supervisor"], body["mode"], body["conference_sid"]) == ("mina", "listen", sid)
    leg = body["call_sid"]
    assert leg.startswith("CA")
    monitor = connected(wired, sid, "mina")
    sim_leg = wired.sim_leg(sid, leg)
    assert sim_leg.label == "supervisor:mina" and sim_leg.status == "connected"
    assert flags(wired, sid, leg) == (True, False, None)

    for mode, expected in (
        ("whisper", (False, True, agent)),
        ("barge", (False, False, None)),
        ("listen", (True, False, None)),
        ("whisper", (False, True, agent)),
    ):
        switched = switch(wired, sid, "mina", mode)
        assert switched.status_code == 200, switched.text
        assert (switched.json()["mode"], switched.json()["call_sid"]) == (mode, leg)
        assert flags(wired, sid, leg) == expected, mode
        wired.wait(lambda mode=mode: (wired.monitor(sid, "mina") or {}).get("mode") == mode)
    assert monitor["call_sid"] == leg

    assert leave(wired, sid, "mina").status_code == 204
    assert wired.sim_leg(sid, leg).status == "complete"
    wired.wait(lambda: wired.monitor(sid, "mina") is None)
    # Only one leg was ever created for mina on this call.
    labels = [p.label for p in wired.sim.engine.conferences[sid].participants.values()]
    assert labels.count("supervisor:mina") == 1

    actions = [(e["action"], e["mode"], e["from_mode"]) for e in audit(wired, supervisor="mina")]
    assert actions == [
        ("leave", "whisper", ""),
        ("switch", "whisper", "listen"),
        ("switch", "listen", "barge"),
        ("switch", "barge", "whisper"),
        ("switch", "whisper", "listen"),
        ("join", "listen", ""),
    ]
    assert {e["agent"] for e in audit(wired, supervisor="mina")} == {"bob"}


def test_joining_in_whisper_joins_muted_then_whispers(wired: Wired) -> None:
    call = wired.new_call("bob")
    sid, agent = call["conference_sid"], call["agent_call_sid"]
    joined = join(wired, sid, "mina", "whisper").json()
    assert joined["mode"] == "whisper"
    created = wired.sim_leg(sid, joined["call_sid"])
    # Silent by default: the leg was created muted (FIELD-NOTES 8) ...
    assert created.muted is True or created.status == "connected"
    connected(wired, sid, "mina")
    # ... and unmuted as the agent's coach once it had joined.
    wired.wait(lambda: flags(wired, sid, joined["call_sid"]) == (False, True, agent))


def test_roles_are_enforced(wired: Wired) -> None:
    sales = wired.new_call("bob")["conference_sid"]  # sales-east
    support = wired.new_call("nick")["conference_sid"]  # support

    refused = join(wired, sales, "quincy", "whisper")
    assert refused.status_code == 403
    assert "QA" in refused.json()["error"]["message"]
    assert join(wired, sales, "quincy", "listen").status_code == 201

    foreign = join(wired, support, "ana", "listen")
    assert foreign.status_code == 403
    assert "sales-east" in foreign.json()["error"]["message"]
    assert join(wired, sales, "ana", "barge").status_code == 201
    assert join(wired, support, "mina", "barge").status_code == 201

    connected(wired, sales, "quincy")
    assert switch(wired, sales, "quincy", "barge").status_code == 403


def test_one_whisperer_per_call_unless_taken_over(wired: Wired) -> None:
    call = wired.new_call("bob")
    sid, agent = call["conference_sid"], call["agent_call_sid"]
    mina = join(wired, sid, "mina", "whisper").json()
    connected(wired, sid, "mina")
    ana = join(wired, sid, "ana", "listen").json()
    connected(wired, sid, "ana")

    taken = switch(wired, sid, "ana", "whisper")
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "whisper-taken"
    assert "mina" in taken.json()["error"]["message"]

    took = switch(wired, sid, "ana", "whisper", takeover=True)
    assert took.status_code == 200
    assert flags(wired, sid, ana["call_sid"]) == (False, True, agent)
    # mina's leg goes back to listening, on Twilio too, and says why.
    wired.wait(lambda: flags(wired, sid, mina["call_sid"]) == (True, False, None))
    displaced = wired.monitor(sid, "mina")
    assert displaced is not None and displaced["mode"] == "listen"
    assert "taken over by ana" in (displaced["note"] or "")


def test_a_supervisor_is_on_one_call_at_a_time(wired: Wired) -> None:
    first = wired.new_call("bob")["conference_sid"]
    second = wired.new_call("carol")["conference_sid"]
    leg = join(wired, first, "mina").json()["call_sid"]
    connected(wired, first, "mina")
    assert join(wired, second, "mina").status_code == 201
    assert wired.monitor(first, "mina") is None
    assert wired.sim_leg(first, leg).status == "complete"
    left = audit(wired, supervisor="mina", conference=first)[0]
    assert (left["action"], left["detail"]) == ("leave", "joined another call")
    again = join(wired, second, "mina")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already-monitoring"


def test_whisper_needs_a_connected_agent(wired: Wired) -> None:
    call = wired.new_call("bob")
    sid = call["conference_sid"]
    wired.act(sid, "leave", call["agent_call_sid"])
    wired.wait(lambda: (wired.conference(sid) or {}).get("agent") is None)
    refused = join(wired, sid, "mina", "whisper")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "no-agent"


def test_unknown_ended_and_malformed(wired: Wired) -> None:
    call = wired.new_call("bob")
    sid = call["conference_sid"]
    assert join(wired, "CF" + "0" * 32, "mina").status_code == 404
    with wired.api("mina") as http:
        for body in (b"not json", b"[]", b'{"supervisor": "mina"}',
                     b'{"supervisor": "mina", "mode": "listen", "takeover": "yes"}'):  # fmt: skip
            response = http.post(f"/api/conferences/{sid}/monitors", content=body)
            assert response.status_code == 422, body
            assert response.json()["error"]["code"] == "bad-body"
    assert join(wired, sid, "mina", "shout").status_code == 422
    # Each refusal says which way the field is wrong: missing, not text, or blank.
    with wired.api("mina") as http:
        wrong: list[tuple[dict[str, object], str]] = [
            ({}, "mode is required"), ({"mode": 5}, "mode must be a string"),
            ({"mode": " "}, "mode must not be empty"),
        ]  # fmt: skip
        for fields, reason in wrong:
            response = http.post(f"/api/conferences/{sid}/monitors", json=fields)
            assert response.status_code == 422
            assert response.json()["error"]["message"] == reason
        card = http.post(f"/api/calls/{call['agent_call_sid']}/cards", json={"text": ""})
        assert card.status_code == 422 and card.json()["error"]["message"] == (
            "text must not be empty"
        )
    with wired.api("mina") as http:  # the body never says who acts: the credential does
        claimed = http.post(f"/api/conferences/{sid}/monitors",
                            json={"supervisor": "ana", "mode": "listen"})  # fmt: skip
        assert claimed.status_code == 403, claimed.text
    assert switch(wired, sid, "mina", "barge").status_code == 404  # not on the call
    assert leave(wired, sid, "mina").status_code == 404
    wired.act(sid, "end")
    wired.wait(lambda: (wired.conference(sid) or {}).get("state") == "ended")
    ended = join(wired, sid, "mina")
    assert ended.status_code == 409 and ended.json()["error"]["code"] == "conference-ended"


def test_a_supervisor_hanging_up_outside_the_app(wired: Wired) -> None:
    call = wired.new_call("bob")
    sid = call["conference_sid"]
    leg = join(wired, sid, "mina").json()["call_sid"]
    connected(wired, sid, "mina")
    wired.act(sid, "leave", leg)  # mina hangs up her phone
    wired.wait(lambda: wired.monitor(sid, "mina") is None)
    last = audit(wired, supervisor="mina")[0]
    assert (last["action"], last["call_sid"]) == ("leave", leg)


@pytest.mark.parametrize("outcome", ["no-answer", "busy", "failed"])
def test_a_leg_that_never_answers_is_removed(wired: Wired, outcome: str) -> None:
    with wired.sim.control() as http:
        http.put("/sim/endpoints/client:mina", json={"outcome": outcome, "delay": 0.05})
    sid = wired.new_call("bob")["conference_sid"]
    assert join(wired, sid, "mina").status_code == 201
    wired.wait(lambda: wired.monitor(sid, "mina") is None)
    assert outcome in audit(wired, supervisor="mina")[0]["detail"]


@pytest.fixture
def impatient(redis_target: RedisTarget, namespace: str) -> Iterator[Wired]:
    running = wire(
        redis_target, namespace,
        EARPIECE_DIALING_TIMEOUT_SECONDS="0.5", EARPIECE_SWEEP_SECONDS="0.2",
    )  # fmt: skip
    yield running
    running.stop()


def test_a_leg_stuck_dialing_is_cleared(impatient: Wired) -> None:
    wired = impatient
    with wired.sim.control() as http:
        http.put("/sim/endpoints/client:mina", json={"outcome": "answer", "delay": 30})
    sid = wired.new_call("bob")["conference_sid"]
    joined = join(wired, sid, "mina").json()
    leg = joined["call_sid"]
    assert joined["status"] == "dialing"  # (read again, it may be cleared already: 0.5 s)
    wired.wait(lambda: wired.monitor(sid, "mina") is None)
    assert "never answered" in audit(wired, supervisor="mina")[0]["detail"]
    assert wired.sim_leg(sid, leg).status in ("complete", "failed")


def test_whisper_falls_back_to_listen_when_the_agent_leaves(wired: Wired) -> None:
    call = wired.new_call("bob")
    sid = call["conference_sid"]
    leg = join(wired, sid, "mina", "whisper").json()["call_sid"]
    connected(wired, sid, "mina")
    wired.wait(lambda: flags(wired, sid, leg)[1] is True)
    wired.act(sid, "leave", call["agent_call_sid"])
    wired.wait(lambda: (wired.monitor(sid, "mina") or {}).get("mode") == "listen")
    assert "agent left" in (wired.monitor(sid, "mina") or {}).get("note", "")
    assert flags(wired, sid, leg) == (True, False, None)


def test_twilio_429_is_retried(wired: Wired) -> None:
    sid = wired.new_call("bob")["conference_sid"]
    with wired.sim.control() as http:
        http.put("/sim/faults", json={"rest_429_next": 2})
    assert join(wired, sid, "mina").status_code == 201
    assert wired.sim.engine.config.rest_429_next == 0


def test_twilio_refusal_is_a_clear_error_and_changes_nothing(wired: Wired) -> None:
    call = wired.new_call("bob")
    sid = call["conference_sid"]
    leg = join(wired, sid, "mina").json()["call_sid"]
    connected(wired, sid, "mina")
    # The agent leaves, but Twilio's callback about it is lost: Earpiece still
    # believes the agent is there, Twilio knows better.
    with wired.sim.control() as http:
        http.put("/sim/reliability", json={"drop": 1.0})
    wired.act(sid, "leave", call["agent_call_sid"])
    refused = switch(wired, sid, "mina", "whisper")
    assert refused.status_code == 409
    assert "Twilio refused (16028)" in refused.json()["error"]["message"]
    monitor = wired.monitor(sid, "mina")
    assert monitor is not None and monitor["mode"] == "listen"
    assert flags(wired, sid, leg) == (True, False, None)
    assert audit(wired, supervisor="mina")[0]["outcome"] == "failed"


def test_call_events_are_signed(wired: Wired) -> None:
    settings = wired.service.settings
    assert settings is not None
    with wired.service.client() as http:
        forged = http.post(
            "/twilio/call-events", data={"CallSid": "CA" + "1" * 32, "CallStatus": "completed"}
        )
        assert forged.status_code == 403
        missing = post_signed(http, settings, "/twilio/call-events", {"CallSid": "CA" + "1" * 32})
        assert missing.status_code == 400
        unknown = post_signed(
            http,
            settings,
            "/twilio/call-events",
            {"CallSid": "CA" + "1" * 32, "CallStatus": "completed"},
        )
        assert unknown.headers["x-earpiece-outcome"] == "unknown-leg"


def test_audit_filters_and_csv(wired: Wired) -> None:
    bob = wired.new_call("bob")["conference_sid"]
    nick = wired.new_call("nick")["conference_sid"]
    join(wired, bob, "ana")
    join(wired, nick, "ken")
    connected(wired, bob, "ana")
    leave(wired, bob, "ana")
    assert [e["action"] for e in audit(wired, supervisor="ana")] == ["leave", "join"]
    assert {e["supervisor"] for e in audit(wired, agent="nick")} == {"ken"}
    assert audit(wired, since="2999-01-01T00:00:00Z") == []
    assert len(audit(wired, limit="1")) == 1
    with wired.api("mina") as http:
        assert http.get("/api/audit", params={"since": "yesterday"}).status_code == 422
        response = http.get("/api/audit.csv", params={"supervisor": "ana"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["action"] for r in rows] == ["leave", "join"]
    assert rows[0]["conference_sid"] == bob and rows[0]["agent"] == "bob"


def test_whispering_to_an_agent_on_hold_is_a_clear_409(wired: Wired) -> None:
    """Twilio refuses to coach a participant on hold (error 16027): the supervisor is told
    so, as a conflict with a reason, not as Twilio failing (502)."""
    call = wired.new_call("bob")
    sid = call["conference_sid"]
    assert join(wired, sid, "mina").status_code == 201
    connected(wired, sid, "mina")
    wired.act(sid, "hold", call["agent_call_sid"])
    wired.wait(lambda: (wired.conference(sid) or {}).get("state") == "hold")
    refused = switch(wired, sid, "mina", "whisper")
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "agent-on-hold" and "on hold" in error["message"]
    assert (wired.monitor(sid, "mina") or {})["mode"] == "listen"  # what Twilio still has


def test_a_roster_id_that_cannot_be_a_label_is_refused_at_load() -> None:
    from core.settings import SettingError
    from live.roster import parse

    for bad in ("bo/b", "bo%2Fb", "x" * 130):  # %2F: Twilio's 16024 refuses it as a "/"
        with pytest.raises(SettingError, match="cannot be a Twilio participant label") as caught:
            parse(f'[teams.t]\nagents = ["{bad}"]\n')
        assert "\n" not in str(caught.value)
    with pytest.raises(SettingError, match="supervisor id"):
        parse('[supervisors."a/b"]\nrole = "qa"\n')
