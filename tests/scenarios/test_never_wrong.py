"""Never wrong for long (issue 6): the reconciler, the orphan and duplicate guard,
the TwiML endpoints, a real Redis killed and restarted, and /metrics — with the
simulator as Twilio and callbacks lost on purpose."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from core.redis_client import RedisTarget, sync_client
from earpiece.services import build
from live import roster as roster_module
from tests.conftest import Wired, make_settings, wire
from tests.helpers import Conference, ServerThread, post_signed, sid, start_redis_server, stop_all

SECONDS = 10.0


@pytest.fixture
def fast(wiring: Callable[..., Wired]) -> Wired:
    """Periods short enough for a test: reconcile every 0.5 s, end orphans after 1 s."""
    return wiring(
        EARPIECE_RECONCILE_SECONDS="0.5", EARPIECE_ORPHAN_SECONDS="1",
        EARPIECE_DUPLICATE_SECONDS="0.5",
    )  # fmt: skip


def sim_post(wired: Wired, path: str, body: dict[str, Any], method: str = "POST") -> Any:
    with wired.sim.control() as http:
        answer = http.request(method, path, json=body)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def lose_callbacks(wired: Wired, share: float) -> None:
    sim_post(wired, "/sim/reliability", {"drop": share}, method="PUT")


def metric(wired: Wired, name: str, **labels: str) -> float:
    """A sample's value from /metrics (0 when absent)."""
    with wired.service.client() as http:
        text = http.get("/metrics").text
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        if key == (f"{name}{{{want}}}" if want else name):
            return float(value)
    return 0.0


def people(conference: dict[str, Any] | None) -> list[str]:
    return sorted(p["role"] for p in (conference or {}).get("participants", []))


# -- the reconciler -------------------------------------------------------------------


def repairs(wired: Wired, kind: str) -> float:
    return metric(wired, "earpiece_reconciler_repairs_total", kind=kind)


def test_the_reconciler_adds_repairs_and_ends_what_callbacks_missed(fast: Wired) -> None:
    added_before = metric(fast, "earpiece_reconciler_repairs_total", kind="conference-added")
    lose_callbacks(fast, 1.0)
    call = sim_post(fast, "/sim/calls", {"agent": "bob"})
    sid_ = call["conference_sid"]
    fast.wait(lambda: people(fast.conference(sid_)) == ["agent", "customer"], SECONDS)
    assert fast.conference(sid_)["state"] == "talking"  # type: ignore[index]
    # Counted as it is written (a reply can reach this test a moment before the count).
    fast.wait(lambda: repairs(fast, "conference-added") > added_before, SECONDS)

    fast.act(sid_, "hold", call["customer_call_sid"])
    fast.wait(lambda: (fast.conference(sid_) or {}).get("state") == "hold", SECONDS)
    fast.act(sid_, "leave", call["agent_call_sid"])
    fast.wait(lambda: people(fast.conference(sid_)) == ["customer"], SECONDS)
    fast.act(sid_, "end")
    fast.wait(lambda: (fast.conference(sid_) or {}).get("state") == "ended", SECONDS)
    for kind in ("flags", "participant-removed", "conference-ended"):
        fast.wait(lambda kind=kind: repairs(fast, kind) >= 1, SECONDS)
    with fast.api() as http:
        assert sid_ not in {c["sid"] for c in http.get("/api/conferences").json()["conferences"]}


def test_the_reconciler_repairs_nothing_when_nothing_was_lost(fast: Wired) -> None:
    """Regression (issue 14): Twilio's callbacks carry Coaching but not CallSidToCoach, so a
    whisper once looked wrong to the reconciler on every pass (a false repair each time)."""
    kinds = ("conference-added", "participant-added", "participant-removed", "flags",
             "conference-ended")  # fmt: skip
    before = {k: metric(fast, "earpiece_reconciler_repairs_total", kind=k) for k in kinds}
    call = fast.new_call("bob")
    fast.act(call["conference_sid"], "hold", call["customer_call_sid"])
    fast.wait(lambda: (fast.conference(call["conference_sid"]) or {}).get("state") == "hold")
    other = fast.new_call("carol")
    sid_ = other["conference_sid"]
    with fast.api("mina") as http:
        joined = http.post(f"/api/conferences/{sid_}/monitors", json={"mode": "whisper"})
        assert joined.status_code == 201, joined.text

    def coached() -> str | None:
        people = (fast.conference(sid_) or {}).get("participants", [])
        return next((p["call_sid_to_coach"] for p in people if p["coaching"]), None)

    fast.wait(lambda: coached() is not None, SECONDS)
    assert coached() == other["agent_call_sid"]
    fast.act(sid_, "mute", other["customer_call_sid"])  # later events keep the target
    runs = metric(fast, "earpiece_reconciler_runs_total", result="done")
    fast.wait(lambda: metric(fast, "earpiece_reconciler_runs_total", result="done") >= runs + 3,
              SECONDS)  # fmt: skip
    after = {k: metric(fast, "earpiece_reconciler_repairs_total", kind=k) for k in kinds}
    assert after == before
    assert coached() == other["agent_call_sid"]  # and the next events did not clear it


def test_an_emptied_redis_is_refilled_within_one_period(
    fast: Wired, namespace: str, redis_target: RedisTarget
) -> None:
    calls = [fast.new_call(agent) for agent in ("bob", "carol", "dave")]
    client = sync_client(redis_target)  # a Cluster too: every key of the floor is in one slot
    try:
        keys = list(client.scan_iter(match="{" + namespace + "}:*", count=1000))
        assert keys
        client.delete(*keys)
    finally:
        client.close()
    with fast.api() as http:
        assert http.get("/api/conferences").json()["conferences"] == []

    def floor() -> dict[str, list[str]]:
        with fast.api() as http:
            return {c["sid"]: people(c) for c in http.get("/api/conferences").json()["conferences"]}

    want = {c["conference_sid"]: ["agent", "customer"] for c in calls}
    fast.wait(lambda: floor() == want, SECONDS)


def test_one_process_reconciles_per_period(
    redis_target: RedisTarget, namespace: str, fast: Wired
) -> None:
    assert fast.service.settings is not None
    settings = make_settings(
        redis_target.url, namespace, fast.service.settings.base_url,
        TWILIO_API_BASE_URL=fast.sim.url, EARPIECE_RECONCILE_SECONDS="30",
    )  # fmt: skip
    roster = roster_module.load(None)

    async def two_processes() -> list[str]:
        first, second = build(settings, redis_target, roster), build(settings, redis_target, roster)
        try:
            outcomes = await asyncio.gather(
                first.reconciler.run_once(), second.reconciler.run_once()
            )
            return sorted(o.result for o in outcomes)
        finally:
            await first.close()
            await second.close()

    assert asyncio.run(two_processes()) == ["done", "skipped"]


# -- the orphan and duplicate guard ---------------------------------------------------


def audit(wired: Wired) -> list[dict[str, Any]]:
    with wired.api("mina") as http:
        entries: list[dict[str, Any]] = http.get("/api/audit?supervisor=earpiece").json()["entries"]
    return entries


def test_a_customer_left_alone_is_flagged_then_the_call_is_ended(fast: Wired) -> None:
    call = fast.new_call("bob")
    sid_ = call["conference_sid"]
    fast.act(sid_, "leave", call["agent_call_sid"])
    fast.wait(lambda: "customer-alone" in (fast.conference(sid_) or {}).get("alerts", []))
    assert (fast.conference(sid_) or {})["alone_since"]
    fast.wait(lambda: (fast.conference(sid_) or {}).get("state") == "ended", SECONDS)
    assert fast.sim.engine.conferences[sid_].status == "completed"
    [entry] = [e for e in audit(fast) if e["conference_sid"] == sid_]
    assert entry["action"] == "end" and entry["outcome"] == "ok"
    assert entry["detail"].startswith("customer-alone for")


def test_a_waiting_customer_is_not_an_orphan(fast: Wired) -> None:
    sim = fast.sim.engine
    call = sim_post(fast, "/sim/calls", {"agent": "zed", "waiting": True})
    fast.wait(lambda: people(fast.conference(call["conference_sid"])) == ["customer"])
    time.sleep(2)
    conference = fast.conference(call["conference_sid"]) or {}
    assert conference["state"] == "waiting" and conference["alerts"] == []
    assert sim.conferences[call["conference_sid"]].status != "completed"


def test_the_guard_can_be_turned_off(wiring: Callable[..., Wired]) -> None:
    wired = wiring(EARPIECE_ORPHAN_SECONDS="0.5", EARPIECE_END_ORPHANS="false")
    call = wired.new_call("bob")
    wired.act(call["conference_sid"], "leave", call["agent_call_sid"])
    wired.wait(lambda: "customer-alone" in
               (wired.conference(call["conference_sid"]) or {}).get("alerts", []))  # fmt: skip
    time.sleep(2)
    assert (wired.conference(call["conference_sid"]) or {})["state"] != "ended"


def test_a_busy_answer_leaves_an_agent_alone_who_is_then_released(fast: Wired) -> None:
    made = sim_post(fast, "/sim/scenarios/busy-duplicate", {"agent": "carol"})
    lone = made["duplicate_conference_sid"]
    fast.wait(lambda: "agent-alone" in (fast.conference(lone) or {}).get("alerts", []))
    fast.wait(lambda: (fast.conference(lone) or {}).get("state") == "ended", SECONDS)
    assert any(e["conference_sid"] == lone and "agent-alone" in e["detail"] for e in audit(fast))


def test_a_duplicate_conference_is_flagged_and_its_lone_half_ended(
    wiring: Callable[..., Wired],
) -> None:
    wired = wiring(EARPIECE_ORPHAN_SECONDS="60", EARPIECE_DUPLICATE_SECONDS="0.5")
    made = sim_post(wired, "/sim/scenarios/duplicate", {"agent": "bob", "other": "carol"})
    real, lone = made["conference_sid"], made["duplicate_sid"]

    def alerts() -> dict[str, list[str]]:
        with wired.api() as http:
            return {c["sid"]: c["alerts"] for c in http.get("/api/conferences").json()
                    ["conferences"]}  # fmt: skip

    wired.wait(lambda: "duplicate" in alerts().get(lone, []))
    assert "duplicate" not in alerts()[real]
    wired.wait(lambda: (wired.conference(lone) or {}).get("state") == "ended", SECONDS)
    assert (wired.conference(real) or {})["state"] == "talking"
    assert any(e["conference_sid"] == lone and "duplicate" in e["detail"]
               for e in audit(wired))  # fmt: skip


# -- TwiML for wiring a real account ----------------------------------------------------


def twiml(wired: Wired, path: str, params: dict[str, str]) -> httpx.Response:
    with wired.service.client() as http:
        return post_signed(http, wired.service.settings, path, params)


def test_twiml_puts_customer_and_agent_into_one_wired_conference(fast: Wired) -> None:
    assert fast.service.settings is not None
    base = fast.service.settings.base_url
    call = {"CallSid": sid("CA"), "AccountSid": "AC" + "0" * 32, "From": "+15551230000"}
    customer = twiml(fast, "/twilio/twiml/customer?task=WT123", call)
    agent = twiml(fast, "/twilio/twiml/agent?task=WT123&agent=bob", {"CallSid": sid("CA")})
    for answer in (customer, agent):
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/xml")
    c = ET.fromstring(customer.text).find("./Dial/Conference")
    a = ET.fromstring(agent.text).find("./Dial/Conference")
    assert c is not None and a is not None
    assert c.text == a.text == "WT123"
    assert c.get("participantLabel") == "customer" and a.get("participantLabel") == "agent:bob"
    assert c.get("endConferenceOnExit") == "true" and a.get("endConferenceOnExit") == "false"
    assert c.get("startConferenceOnEnter") == "false" and a.get("startConferenceOnEnter") == "true"
    for conference in (c, a):
        assert conference.get("beep") == "false"
        assert conference.get("statusCallback") == (
            f"{base}/twilio/conference-events#rc=3&rp=5xx,ct,rt"
        )
        events = set((conference.get("statusCallbackEvent") or "").split())
        assert events == {"start", "end", "join", "leave", "mute", "hold", "modify", "speaker",
                          "announcement"}  # fmt: skip
    # TaskRouter: the TaskSid names the conference; no task at all is a clear 400.
    task = twiml(fast, "/twilio/twiml/agent?agent=bob", {"TaskSid": "WTabc"})
    assert ET.fromstring(task.text).findtext("./Dial/Conference") == "WTabc"
    missing = twiml(fast, "/twilio/twiml/agent?task=WT1", {})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "no-agent"


def test_twiml_answers_a_number_configured_for_get(fast: Wired) -> None:
    """Twilio may fetch TwiML with GET (the number's Voice configuration): its parameters
    are then in the query string, and the signature covers the URL with them."""
    from urllib.parse import urlencode

    from tests.helpers import sign

    settings = fast.service.settings
    assert settings is not None
    caller = sid("CA")
    path = "/twilio/twiml/customer?" + urlencode({"CallSid": caller, "From": "+15551230000",
                                                  "AccountSid": "AC" + "0" * 32})  # fmt: skip
    signature = sign(settings.auth_token, settings.base_url + path, {})
    with fast.service.client() as http:
        answer = http.get(path, headers={"X-Twilio-Signature": signature})
        forged = http.get(path, headers={"X-Twilio-Signature": "bm9wZQ=="})
    assert answer.status_code == 200, answer.text
    assert ET.fromstring(answer.text).findtext("./Dial/Conference") == caller
    assert forged.status_code == 403


def test_twiml_is_signed_and_takes_the_region_setting(wiring: Callable[..., Wired]) -> None:
    wired = wiring(EARPIECE_CONFERENCE_REGION="jp1")
    with wired.service.client() as http:
        forged = http.post("/twilio/twiml/customer?task=WT1", data={"CallSid": sid("CA")},
                           headers={"X-Twilio-Signature": "bm9wZQ=="})  # fmt: skip
    assert forged.status_code == 403
    answer = twiml(wired, "/twilio/twiml/customer?task=WT1", {"CallSid": sid("CA")})
    conference = ET.fromstring(answer.text).find("./Dial/Conference")
    assert conference is not None and conference.get("region") == "jp1"


# -- a real redis-server, killed and restarted ------------------------------------------


def debian_redis(port: int) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    assert shutil.which(binary), "install Debian's redis-server: apt-get install redis-server"
    return start_redis_server(binary, port)


def test_redis_killed_and_restarted_empty_the_floor_heals_without_a_restart(
    namespace: str,
) -> None:
    port = ServerThread.free_port()
    server = debian_redis(port)
    target = RedisTarget(f"redis://127.0.0.1:{port}/0", cluster=False, embedded=None)
    wired = wire(target, namespace, EARPIECE_RECONCILE_SECONDS="0.5")
    try:
        first = wired.new_call("bob")
        server.send_signal(signal.SIGKILL)  # no goodbye, no data kept
        server.wait()
        conf = Conference()
        join = conf.event("participant-join", sid("CA"), ParticipantLabel="customer")
        with wired.service.client() as http:
            assert post_signed(http, wired.service.settings, "/twilio/conference-events",
                               join).status_code == 503  # fmt: skip
            assert http.get("/healthz").status_code == 503
        # Calls go on at Twilio meanwhile; their callbacks are refused (503).
        during = sim_post(wired, "/sim/calls", {"agent": "carol"})
        server = debian_redis(port)  # back, and empty
        with wired.service.client() as http:
            wired.wait(lambda: http.get("/healthz").status_code == 200, SECONDS)

        def floor() -> set[str]:
            with wired.api() as http:
                answer = http.get("/api/conferences")
            assert answer.status_code == 200, answer.text  # no 503 once Redis answers
            return {c["sid"] for c in answer.json()["conferences"]}

        wired.wait(lambda: floor() == {first["conference_sid"], during["conference_sid"]},
                   SECONDS)  # fmt: skip
        # And new callbacks land as usual.
        later = wired.new_call("dave")
        assert later["conference_sid"] in floor()
    finally:
        wired.stop()
        server.terminate()
        server.wait()


# -- /metrics ------------------------------------------------------------------------------


def test_metrics_count_callbacks_actions_and_twilio_errors(fast: Wired) -> None:
    applied = metric(fast, "earpiece_callbacks_total", event="participant-join", outcome="applied")
    joins = metric(fast, "earpiece_coach_actions_total", action="join", outcome="ok")
    refused = metric(fast, "earpiece_twilio_errors_total", code="20429")
    sid_ = fast.new_call("bob")["conference_sid"]
    with fast.api("mina") as http:
        assert (
            http.post(
                f"/api/conferences/{sid_}/monitors", json={"supervisor": "mina", "mode": "listen"}
            ).status_code
            == 201
        )

        # The switch is a participant update (a POST) once mina's leg is connected; one
        # still dialing keeps the mode for when it answers (no request), and a later POST
        # took the refusal in a loaded suite run. The reconciler's reads (GETs every half
        # second) must not take it first either.
        def connected() -> bool:
            monitors = http.get(f"/api/conferences/{sid_}").json()["monitors"]
            return any(m["supervisor"] == "mina" and m["status"] == "connected" for m in monitors)

        fast.wait(connected)
        sim_post(fast, "/sim/faults", {"rest_429_next": 1, "rest_429_method": "POST"},
                 method="PUT")  # fmt: skip
        http.patch(f"/api/conferences/{sid_}/monitors/mina", json={"mode": "barge"})
    assert metric(fast, "earpiece_callbacks_total", event="participant-join",
                  outcome="applied") >= applied + 2  # fmt: skip
    assert metric(fast, "earpiece_coach_actions_total", action="join", outcome="ok") == joins + 1
    assert metric(fast, "earpiece_twilio_errors_total", code="20429") == refused + 1
    assert metric(fast, "earpiece_apply_seconds_count") > 0
    with fast.service.client() as http:
        text = http.get("/metrics").text
    assert "# TYPE earpiece_sse_clients gauge" in text
    assert "earpiece_reconciler_runs_total" in text


def test_a_clean_simulated_half_hour_makes_no_repair(
    redis_target: RedisTarget, namespace: str
) -> None:
    """Issue 14's target: a floor whose callbacks all arrive gets no repair, over a simulated
    half hour of traffic (holds, hang-ups, whispers) in 15 s, with the reconciler passing every
    half second (about 30 passes): a repair on a correct floor would be a false one."""
    from earpiece.service import create_app
    from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, personal_key
    from twilio_sim.app import create_app as create_sim
    from twilio_sim.config import Endpoint, SimConfig
    from twilio_sim.traffic import TrafficConfig

    port = ServerThread.free_port()
    base = f"http://127.0.0.1:{port}"
    config = SimConfig(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                       callback_url=base + "/twilio/conference-events#rc=3&rp=5xx,ct,rt",
                       default_endpoint=Endpoint("answer", 0.05), seed=11)  # fmt: skip
    agents = roster_module.load(None).agents
    # Speech off: at 120x its turns would outrun this one test process (a backlog of
    # callbacks in flight is a floor Twilio is ahead of, not a clean one); holds, hang-ups
    # and whispers stay.
    traffic = TrafficConfig(calls_per_minute=8, speech=False, prefill=4, time_scale=120)
    sim_port = ServerThread.free_port()
    sim = ServerThread(create_sim(config, traffic, agents), sim_port, None)
    sim.start()
    settings = make_settings(redis_target.url, namespace, base,
                             TWILIO_API_BASE_URL=f"http://127.0.0.1:{sim_port}",
                             EARPIECE_RECONCILE_SECONDS="0.5")  # fmt: skip
    service = ServerThread(create_app(settings, redis_target), port, settings)
    service.start()
    wired = Wired(sim=None, service=service)  # type: ignore[arg-type]
    kinds = ("conference-added", "participant-added", "participant-removed", "flags",
             "conference-ended")  # fmt: skip
    try:
        before = {k: metric(wired, "earpiece_reconciler_repairs_total", kind=k) for k in kinds}
        runs = metric(wired, "earpiece_reconciler_runs_total", result="done")
        key = personal_key(settings, "mina")
        ends = time.monotonic() + 15  # half an hour at 120x
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"},
                          timeout=10) as http:  # fmt: skip
            while time.monotonic() < ends:
                live = http.get("/api/conferences").json()["conferences"]
                talking = [c["sid"] for c in live if c["state"] == "talking"]
                if talking:  # whisper to one call a while, then leave
                    http.post(f"/api/conferences/{talking[0]}/monitors",
                              json={"mode": "whisper", "takeover": True})  # fmt: skip
                    time.sleep(2)
                    http.delete(f"/api/conferences/{talking[0]}/monitors/mina")
                time.sleep(1)
        after = {k: metric(wired, "earpiece_reconciler_repairs_total", kind=k) for k in kinds}
        assert metric(wired, "earpiece_reconciler_runs_total", result="done") >= runs + 20
        assert after == before
    finally:
        stop_all(sim, service)
