"""A TaskRouter floor end to end: the simulator's Workspace posts its signed events to the
service, and /api/queues and /api/agents say what TaskRouter itself says (the simulator's
RealTimeStatistics, read through the real twilio SDK)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from earpiece.redis_client import RedisTarget
from live.board import mask_number
from tests.conftest import ACCOUNT_SID, API_TOKEN, AUTH_TOKEN, make_settings, personal_key
from tests.helpers import ServerThread, post_signed

WORKERS = {"bob": ("sales",), "carol": ("sales",), "nick": ("support",)}


@dataclass
class TaskRouterFloor:
    service: ServerThread
    sim: ServerThread

    @property
    def workspace(self) -> Any:
        return self.sim.server.config.app.state.workspace

    def control(self) -> httpx.Client:
        return httpx.Client(base_url=self.sim.url, timeout=10)

    def api(self, path: str) -> Any:
        with self.service.client(API_TOKEN) as http:
            answer = http.get(path)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def sdk(self) -> Any:
        from coach.twilio_client import make_client

        assert self.service.settings is not None
        return make_client(self.service.settings).taskrouter.v1.workspaces(self.workspace.sid)

    @staticmethod
    def wait(predicate: Any, seconds: float = 5.0) -> None:
        from tests.conftest import Wired

        Wired.wait(predicate, seconds)


@pytest.fixture
def tr_floor(redis_target: RedisTarget, namespace: str) -> Iterator[TaskRouterFloor]:
    from callbacks.app import create_app
    from twilio_sim.app import create_app as create_sim
    from twilio_sim.config import Endpoint, SimConfig
    from twilio_sim.taskrouter.workspace import WorkspaceConfig

    port, sim_port = ServerThread.free_port(), ServerThread.free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(redis_target.url, namespace, base,
                             TWILIO_API_BASE_URL=f"http://127.0.0.1:{sim_port}",
                             EARPIECE_TIMEZONE="Asia/Tokyo", EARPIECE_ORPHAN_SECONDS="1",
                             EARPIECE_TWILIO_RETRIES="3")  # fmt: skip
    service = ServerThread(create_app(settings, redis_target), port, settings)
    service.start()
    config = SimConfig(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                       callback_url=base + "/twilio/conference-events",
                       default_endpoint=Endpoint("answer", 0.05), seed=11)  # fmt: skip
    workspace = WorkspaceConfig(base + "/twilio/taskrouter-events", accept_seconds=0.05,
                                wrapup_seconds=0.2)  # fmt: skip
    sim = ServerThread(create_sim(config, workspace=workspace, workers=WORKERS), sim_port, None)
    sim.start()
    yield TaskRouterFloor(service, sim)
    sim.stop()
    service.stop()


def by_name(items: list[dict[str, Any]], key: str = "name") -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


def test_the_wallboard_says_what_taskrouter_says(tr_floor: TaskRouterFloor) -> None:
    f = tr_floor
    with f.control() as http:
        http.post("/sim/workers/nick/activity", json={"activity": "Break"})
        for _ in range(2):
            http.post("/sim/calls", json={"queue": "support"})  # nobody available: they wait
        answered = http.post("/sim/calls", json={"queue": "sales"}).json()
        abandoned = http.post("/sim/calls", json={"queue": "support"}).json()
        http.post(f"/sim/tasks/{abandoned['task_sid']}/actions", json={"action": "abandon"})

    def settled() -> bool:
        queues = by_name(f.api("/api/queues")["queues"])
        return (queues.get("support", {}).get("waiting") == 2
                and queues.get("sales", {}).get("today", {}).get("answered") == 1)  # fmt: skip

    f.wait(settled)
    queues = by_name(f.api("/api/queues")["queues"])
    ws = f.sdk()
    for queue in ws.task_queues.list():
        truth = ws.task_queues(queue.sid).real_time_statistics().fetch()
        ours = queues[queue.friendly_name]
        waiting = truth.tasks_by_status["pending"] + truth.tasks_by_status["reserved"]
        assert ours["waiting"] == waiting, queue.friendly_name
        assert abs(ours["longest_wait_seconds"] - truth.longest_relative_task_age_in_queue) <= 1
        totals = ws.task_queues(queue.sid).cumulative_statistics().fetch()
        assert ours["today"]["entered"] == totals.tasks_entered
        assert ours["today"]["abandoned"] == totals.tasks_canceled
        assert ours["today"]["answered"] == totals.reservations_accepted
    assert queues["support"]["today"]["abandoned"] == 1
    assert all(t["caller"] and "•" in t["caller"] for t in queues["support"]["tasks"])

    agents = by_name(f.api("/api/agents")["agents"], "agent")
    assert agents["nick"]["activity"] == "Break" and not agents["nick"]["available"]
    ordered = f.api("/api/queues?order=attention")["queues"]
    assert [q["attention"] for q in ordered] == sorted((q["attention"] for q in ordered),
                                                       reverse=True)  # fmt: skip
    with f.service.client(API_TOKEN) as http:
        assert http.get("/api/agents?order=random").status_code == 422
    busy = [a for a in agents.values() if a["task_sid"] == answered["task_sid"]]
    assert len(busy) == 1 and busy[0]["team"] == "sales-east"
    f.wait(lambda: by_name(f.api("/api/agents")["agents"], "agent")[busy[0]["agent"]]
           ["conference_sid"] is not None)  # fmt: skip
    assert queues["sales"]["agents"]["busy"] == 1


def test_a_forged_or_malformed_taskrouter_event_changes_nothing(
    tr_floor: TaskRouterFloor,
) -> None:
    settings = tr_floor.service.settings
    assert settings is not None
    path = "/twilio/taskrouter-events"
    with tr_floor.service.client() as http:
        forged = http.post(path, data={"EventType": "task.created"},
                           headers={"X-Twilio-Signature": "nope"})  # fmt: skip
        assert forged.status_code == 403
        missing = post_signed(http, settings, path, {"EventType": "task.created"})
        assert missing.status_code == 400 and "WorkspaceSid" in missing.json()["error"]["message"]
        far = post_signed(http, settings, path, {"EventType": "task.created",
                                                 "WorkspaceSid": "WS" + "0" * 32,
                                                 "Timestamp": "253402300799"})  # fmt: skip
        assert far.status_code == 400 and "a day" in far.json()["error"]["message"]
        other = post_signed(http, settings, path, {"EventType": "workflow.timeout",
                                                   "WorkspaceSid": "WS" + "0" * 32,
                                                   "Timestamp": str(int(time.time()))})  # fmt: skip
    assert tr_floor.api("/api/queues") == {"queues": []}
    assert other.status_code == 204 and other.headers["x-earpiece-outcome"] == "ignored"
    # TaskRouter's Events reference: 204 No Content with Content-Type application/json.
    assert other.headers["content-type"] == "application/json"


def test_a_conference_taskrouter_made_is_coached_helped_and_guarded_like_any_other(
    tr_floor: TaskRouterFloor,
) -> None:
    f = tr_floor
    with f.control() as http:
        for agent in ("carol", "nick"):
            http.post(f"/sim/workers/{agent}/activity", json={"activity": "Offline"})
        waiting = http.post("/sim/calls", json={"queue": "sales"}).json()
    task, customer = waiting["task_sid"], waiting["customer_call_sid"]

    def conference() -> dict[str, Any] | None:
        found = [c for c in f.api("/api/conferences")["conferences"] if c["friendly_name"] == task]
        return found[0] if found else None

    f.wait(lambda: (conference() or {}).get("agent") == "bob")
    live = conference()
    assert live is not None
    sid = live["sid"]
    assert live["task_sid"] == task and live["team"] == "sales-east" and live["queue"] == "sales"
    roles = {p["call_sid"]: p["role"] for p in live["participants"]}
    assert roles[customer] == "customer"
    [worker_leg] = [c for c, role in roles.items() if role == "agent"]
    number = next(p["number"] for p in live["participants"] if p["role"] == "customer")
    engine = f.sim.server.config.app.state.engine
    # From the task's attributes; masked for the service token, written for this Tokyo
    # floor's country (a Japanese 050 number reads 050-••••-1234).
    assert number == mask_number(engine.calls[customer].from_, True, "JP")

    assert f.service.settings is not None
    with f.service.client(personal_key(f.service.settings, "mina")) as http:
        joined = http.post(f"/api/conferences/{sid}/monitors",
                           json={"supervisor": "mina", "mode": "whisper"})  # fmt: skip
        assert joined.status_code == 201, joined.text
        f.wait(lambda: any(m["status"] == "connected" and m["mode"] == "whisper"
                           for m in (conference() or {}).get("monitors", [])))  # fmt: skip
        legs = engine.conferences[sid].participants.values()
        [mina] = [p for p in legs if p.label == "supervisor:mina" and p.status == "connected"]
        assert mina.coaching is True and mina.call_sid_to_coach == worker_leg
        with f.service.client(personal_key(f.service.settings, "bob", "agent")) as softphone:
            helped = softphone.post(f"/api/calls/{worker_leg}/help")
        assert helped.status_code == 201, helped.text
        http.delete(f"/api/conferences/{sid}/monitors/mina")

    # The worker hangs up; the customer is left alone, and the guard ends the conference.
    with f.control() as http:
        http.post(
            f"/sim/conferences/{sid}/actions", json={"action": "leave", "call_sid": worker_leg}
        )
    f.wait(lambda: "customer-alone" in ((conference() or {}).get("alerts") or []), 5)
    f.wait(lambda: engine.conferences[sid].status == "completed", 10)


def test_queue_and_agent_changes_reach_the_event_stream_whole(tr_floor: TaskRouterFloor) -> None:
    import json

    from httpx_sse import connect_sse

    f = tr_floor
    got: list[tuple[str, dict[str, Any]]] = []
    with f.control() as http:
        http.post("/sim/workers/nick/activity", json={"activity": "Break"})
    f.wait(lambda: by_name(f.api("/api/agents")["agents"], "agent")["nick"]["activity"] == "Break")
    with (
        httpx.Client(base_url=f.service.url, timeout=10) as client,
        connect_sse(
            client, "GET", "/events?snapshot=1", headers={"Authorization": f"Bearer {API_TOKEN}"}
        ) as source,
    ):
        events = source.iter_sse()
        for event in events:  # the snapshot: the agents as they are
            if event.event == "sync":
                break
            if event.event in ("queue", "agent"):
                got.append((event.event, json.loads(event.data)))
        assert any(kind == "agent" and a["agent"] == "nick" for kind, a in got)
        with f.control() as http:
            http.post("/sim/calls", json={"queue": "support"})  # nick is on a break: it waits
        for event in events:
            if event.event == "queue":
                queue = json.loads(event.data)
                if queue["name"] == "support" and queue["waiting"] == 1:
                    assert event.id and queue["tasks"][0]["waiting_seconds"] >= 0
                    break
        with f.control() as http:
            http.post("/sim/workers/nick/activity", json={"activity": "Available"})
        for event in events:
            if event.event == "agent" and json.loads(event.data)["agent"] == "nick":
                break


def test_the_reconciler_repairs_what_lost_taskrouter_events_left_wrong(
    tr_floor: TaskRouterFloor, redis_target: RedisTarget
) -> None:
    import asyncio
    from zoneinfo import ZoneInfo

    from coach.taskrouter_repair import TaskRouterRepair
    from coach.twilio_calls import TwilioCalls
    from coach.twilio_client import make_client
    from earpiece.redis_client import async_client
    from earpiece.roster import load as load_roster
    from live.queues import LiveQueues, QueuePolicy

    f = tr_floor
    settings = f.service.settings
    assert settings is not None
    with f.control() as http:
        http.put("/sim/reliability", json={"drop": 1.0})  # every callback is lost from here
        http.post("/sim/workers/nick/activity", json={"activity": "Break"})
        for _ in range(2):
            http.post("/sim/calls", json={"queue": "support"})
        answered = http.post("/sim/calls", json={"queue": "sales"}).json()
    f.wait(lambda: f.workspace.tasks[answered["task_sid"]].status == "assigned")
    assert f.api("/api/queues") == {"queues": []}, "nothing arrived"

    async def repair() -> dict[str, int]:
        redis = async_client(redis_target)
        try:
            queues = LiveQueues(redis, namespace=settings.namespace, roster=load_roster(None),
                                policy=QueuePolicy(ZoneInfo("Asia/Tokyo")))  # fmt: skip
            fixer = TaskRouterRepair(queues, TwilioCalls(make_client(settings)),
                                     f.workspace.sid, link=queues.link)  # fmt: skip
            first = await fixer.run_once()
            assert await fixer.run_once() == {}, "a second pass finds nothing to repair"
            return first
        finally:
            await redis.aclose()

    repairs = asyncio.run(repair())
    assert repairs["task"] == 3 and repairs["worker"] >= 1
    queues = by_name(f.api("/api/queues")["queues"])
    ws = f.sdk()
    for queue in ws.task_queues.list():
        truth = ws.task_queues(queue.sid).real_time_statistics().fetch()
        waiting = truth.tasks_by_status["pending"] + truth.tasks_by_status["reserved"]
        assert queues[queue.friendly_name]["waiting"] == waiting
    assert queues["sales"]["today"]["answered"] == 1
    agents = by_name(f.api("/api/agents")["agents"], "agent")
    assert agents["nick"]["activity"] == "Break"
