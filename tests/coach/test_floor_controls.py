"""Running the floor (issue 27) end to end: the service's API, through the real twilio SDK, against
the simulator's TaskRouter Workspace and conferences; Twilio's refusals shown in Twilio's words;
audited under the supervisor who asked; an after-call change made exactly once when the wrap-up
ends, also when the events that end it arrive twice or out of order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from core.redis_client import RedisTarget, async_client
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, make_settings, personal_key
from tests.helpers import ServerThread, clear_of_midnight, post_signed, stop_all

WORKERS = {"bob": ("sales",), "carol": ("sales",), "nick": ("support",)}


@dataclass
class Floor:
    service: ServerThread
    sim: ServerThread
    keys: dict[str, str]

    @property
    def workspace(self) -> Any:
        return self.sim.app.state.workspace

    @property
    def engine(self) -> Any:
        return self.sim.app.state.engine

    def control(self) -> httpx.Client:
        return httpx.Client(base_url=self.sim.url, timeout=10)

    def as_(self, who: str) -> httpx.Client:
        return self.service.client(self.keys[who])

    def agents(self) -> dict[str, dict[str, Any]]:
        with self.as_("mina") as http:
            return {a["agent"]: a for a in http.get("/api/agents").json()["agents"]}

    def audit(self, action: str) -> list[dict[str, Any]]:
        with self.as_("mina") as http:
            entries = http.get("/api/audit").json()["entries"]
        return [e for e in entries if e["action"] == action]

    def worker(self, agent: str) -> Any:
        return self.workspace.worker_named(agent)

    @staticmethod
    def wait(predicate: Any, seconds: float = 8.0) -> None:
        from tests.conftest import Wired

        Wired.wait(predicate, seconds)


def _floor(
    redis_target: RedisTarget, namespace: str, *, wrapup: float, **extra: str
) -> Iterator[Floor]:
    from earpiece.service import create_app
    from twilio_sim.app import create_app as create_sim
    from twilio_sim.config import Endpoint, SimConfig
    from twilio_sim.taskrouter.workspace import WorkspaceConfig

    port, sim_port = ServerThread.free_port(), ServerThread.free_port()
    # A queue's "today" is the floor's day in Tokyo: no midnight there during a test.
    clear_of_midnight("Asia/Tokyo", 120)
    base = f"http://127.0.0.1:{port}"
    config = SimConfig(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                       callback_url=base + "/twilio/conference-events",
                       default_endpoint=Endpoint("answer", 0.05), seed=13)  # fmt: skip
    workspace = WorkspaceConfig(base + "/twilio/taskrouter-events", accept_seconds=0.05,
                                wrapup_seconds=wrapup)  # fmt: skip
    sim_app = create_sim(config, workspace=workspace, workers=WORKERS)
    settings = make_settings(redis_target.url, namespace, base,
                             TWILIO_API_BASE_URL=f"http://127.0.0.1:{sim_port}",
                             TWILIO_WORKSPACE_SID=sim_app.state.workspace.sid,
                             EARPIECE_TIMEZONE="Asia/Tokyo", **extra)  # fmt: skip
    service = ServerThread(create_app(settings, redis_target), port, settings)
    service.start()
    sim = ServerThread(sim_app, sim_port, None)
    sim.start()
    keys = {who: personal_key(settings, who) for who in ("mina", "ana", "ken", "quincy")}
    yield Floor(service, sim, keys)
    stop_all(sim, service)


@pytest.fixture
def floor(redis_target: RedisTarget, namespace: str) -> Iterator[Floor]:
    """Wrap-ups last 0.6 s (the agent finishes them)."""
    yield from _floor(redis_target, namespace, wrapup=0.6)


@pytest.fixture
def stuck_floor(redis_target: RedisTarget, namespace: str) -> Iterator[Floor]:
    """Wrap-ups never end by themselves."""
    yield from _floor(redis_target, namespace, wrapup=3600)


def _on_call(f: Floor, agent: str = "bob") -> dict[str, str]:
    with f.control() as http:
        for other in WORKERS:
            if other != agent:
                http.post(f"/sim/workers/{other}/activity", json={"activity": "Offline"})
        queue = WORKERS[agent][0]
        call = http.post("/sim/calls", json={"queue": queue}).json()
    f.wait(lambda: f.agents().get(agent, {}).get("phase") == "assigned")
    return dict(call)


def test_set_an_agents_activity_now_through_the_sdk_audited(floor: Floor) -> None:
    f = floor
    with f.as_("ana") as http:
        answer = http.put("/api/agents/bob/activity",
                          json={"activity": "Break", "reason": "休憩 (break)"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json()["when"] == "now"
    assert f.worker("bob").activity.name == "Break", "Twilio has it (through the SDK)"
    f.wait(lambda: f.agents()["bob"]["activity"] == "Break")  # and the event came back
    [entry] = f.audit("agent-activity")
    assert (entry["supervisor"], entry["agent"]) == ("ana", "bob")
    assert "Break" in entry["detail"] and "休憩" in entry["detail"]
    with f.as_("ana") as http:
        listed = http.get("/api/activities").json()
        unknown = http.put("/api/agents/bob/activity", json={"activity": "Lunch"})
    assert listed["taskrouter"] is True
    assert {a["name"] for a in listed["activities"]} >= {"Available", "Break", "Offline"}
    assert unknown.status_code == 422 and "Lunch" in unknown.json()["error"]["message"]
    with f.as_("ana") as http:
        long_reason = http.put("/api/agents/bob/activity",
                               json={"activity": "Break", "reason": "理" * 201})  # fmt: skip
        long_name = http.put("/api/agents/bob/activity", json={"activity": "B" * 65})
        not_text = http.put("/api/agents/bob/activity", json={"activity": ["Break"]})
    assert long_reason.status_code == 422 and "reason" in long_reason.json()["error"]["message"]
    assert long_name.status_code == 422 and not_text.status_code == 422
    # ken leads support: bob (sales-east) is not his; QA never runs the floor.
    for who in ("ken", "quincy"):
        with f.as_(who) as http:
            refused = http.put("/api/agents/bob/activity", json={"activity": "Available"})
        assert refused.status_code == 403, who
    assert f.worker("bob").activity.name == "Break"


def test_a_pending_reservation_is_rejected_when_a_manager_sends_the_agent_on_break(
    redis_target: RedisTarget, namespace: str
) -> None:
    gen = _floor(redis_target, namespace, wrapup=0.5)
    f = next(gen)
    try:
        f.workspace.config.accept_seconds = 3600  # bob will not accept: his reservation waits
        with f.control() as http:
            http.post("/sim/workers/carol/activity", json={"activity": "Offline"})
            call = http.post("/sim/calls", json={"queue": "sales"}).json()
        task = f.workspace.tasks[call["task_sid"]]
        assert task.status == "reserved"
        with f.as_("mina") as http:
            moved = http.put("/api/agents/bob/activity", json={"activity": "Break"})
        assert moved.status_code == 200, moved.text
        assert task.status == "pending", "the caller goes back to the queue for the next agent"
        assert f.worker("bob").activity.name == "Break"
    finally:
        next(gen, None)


def test_an_after_call_change_waits_for_the_wrap_up_and_happens_once(stuck_floor: Floor) -> None:
    f = stuck_floor
    call = _on_call(f)
    with f.as_("ana") as http:
        asked = http.put("/api/agents/bob/activity",
                         json={"activity": "Break", "when": "after-call",
                               "reason": "1on1 with ana"})  # fmt: skip
    assert asked.status_code == 202, asked.text
    assert asked.json()["task_sid"] == call["task_sid"]
    row = f.agents()["bob"]
    assert row["pending_change"]["activity"] == "Break"
    assert row["pending_change"]["reason"] == "1on1 with ana"
    assert row["pending_change"]["by"] == "ana"
    assert f.worker("bob").activity.name == "Available", "not while on the call"
    # The call ends; the wrap-up goes on (as long as the agent takes): still waiting.
    with f.control() as http:
        http.post(f"/sim/tasks/{call['task_sid']}/actions", json={"action": "hangup"})
    f.wait(lambda: f.agents()["bob"]["phase"] == "wrapping")
    time.sleep(0.3)
    assert f.worker("bob").activity.name == "Available"
    assert f.agents()["bob"]["pending_change"] is not None
    # The agent finishes the wrap-up (their desktop completes the task, as Flex does through
    # the REST API): the change happens, once, and leaves the row.
    assert f.service.settings is not None
    from core.twilio_client import make_client

    tasks = make_client(f.service.settings).taskrouter.v1.workspaces(f.workspace.sid).tasks
    tasks(call["task_sid"]).update(assignment_status="completed", reason="wrap-up done")
    f.wait(lambda: f.worker("bob").activity.name == "Break")
    f.wait(lambda: f.agents()["bob"]["pending_change"] is None)
    f.wait(lambda: f.agents()["bob"]["activity"] == "Break")
    done = [e for e in f.audit("agent-activity-after-call") if e["outcome"] == "ok"]
    assert len(done) == 1 and done[0]["supervisor"] == "ana"
    updates = [e for e in f.audit("agent-activity-after-call")]
    assert {e["outcome"] for e in updates} == {"pending", "ok"}


def test_cancel_a_waiting_change(floor: Floor) -> None:
    f = floor
    call = _on_call(f)
    with f.as_("mina") as http:
        http.put("/api/agents/bob/activity",
                 json={"activity": "Offline", "when": "after-call"})  # fmt: skip
        assert http.delete("/api/agents/bob/activity/pending").status_code == 204
        assert http.delete("/api/agents/bob/activity/pending").status_code == 404
    assert f.agents()["bob"]["pending_change"] is None
    with f.control() as http:
        http.post(f"/sim/tasks/{call['task_sid']}/actions", json={"action": "hangup"})
    f.wait(lambda: f.agents()["bob"]["phase"] is None)
    time.sleep(0.3)
    assert f.worker("bob").activity.name == "Available", "a canceled change never happens"
    assert [e["supervisor"] for e in f.audit("agent-activity-canceled")] == ["mina"]


def test_an_after_call_change_for_an_agent_on_no_call_happens_now(floor: Floor) -> None:
    f = floor
    with f.as_("mina") as http:
        answer = http.put("/api/agents/nick/activity",
                          json={"activity": "Break", "when": "after-call"})  # fmt: skip
    assert answer.status_code == 200 and answer.json()["when"] == "now"
    assert f.worker("nick").activity.name == "Break"


def _worker_event(f: Floor, kind: str, task_sid: str, at_ms: int, *, status: str) -> int:
    """A TaskRouter event of bob's task, signed, as TaskRouter would post it."""
    bob = f.worker("bob")
    params = {
        "EventType": kind, "AccountSid": ACCOUNT_SID, "WorkspaceSid": f.workspace.sid,
        "WorkspaceName": "w", "EventDescription": kind, "ResourceType": "Task",
        "ResourceSid": task_sid, "Timestamp": str(at_ms // 1000), "TimestampMs": str(at_ms),
        "Sid": "EV" + format(at_ms, "032x")[-32:], "TaskSid": task_sid,
        "TaskAssignmentStatus": status, "WorkerSid": bob.sid, "WorkerName": "bob",
        "WorkerActivityName": "Available", "WorkerActivitySid": bob.activity.sid,
    }  # fmt: skip
    assert f.service.settings is not None
    with f.service.client() as http:
        answer = post_signed(http, f.service.settings, "/twilio/taskrouter-events", params)
    return int(answer.status_code)


@pytest.mark.parametrize("story", ["in-order", "twice", "completed-first"])
def test_the_after_call_change_happens_exactly_once_whatever_the_events_order(
    stuck_floor: Floor, story: str
) -> None:
    """The wrap-up's end is told by task.completed and reservation.completed, each possibly
    twice, possibly before the wrap-up events that came first at Twilio. Whatever arrives,
    the change is made once: one Worker update at Twilio, one audit entry."""
    f = stuck_floor
    call = _on_call(f)
    task = call["task_sid"]
    with f.as_("ana") as http:
        asked = http.put("/api/agents/bob/activity",
                         json={"activity": "Break", "when": "after-call"})  # fmt: skip
    assert asked.status_code == 202
    updates: list[str] = []
    original = f.workspace.update_worker

    def counted(worker: Any, activity: Any, **kw: Any) -> Any:
        updates.append(activity.name)
        return original(worker, activity, **kw)

    f.workspace.update_worker = counted
    now = int(time.time() * 1000)
    wrap, done = now + 100, now + 200
    sequences = {
        "in-order": [("task.wrapup", wrap, "wrapping"), ("task.completed", done, "completed"),
                     ("reservation.completed", done, "completed")],
        "twice": [("task.wrapup", wrap, "wrapping"), ("task.completed", done, "completed"),
                  ("task.completed", done, "completed"), ("reservation.wrapup", wrap, "wrapping"),
                  ("reservation.completed", done, "completed")],
        "completed-first": [("reservation.completed", done, "completed"),
                            ("task.wrapup", wrap, "wrapping"),
                            ("reservation.wrapup", wrap, "wrapping"),
                            ("task.completed", done, "completed")],
    }  # fmt: skip
    for i, (kind, at, status) in enumerate(sequences[story]):
        assert _worker_event(f, kind, task, at, status=status) == 204
        if i == 0 and story != "completed-first":
            # A wrap-up is not the end: nothing happens yet.
            time.sleep(0.2)
            assert updates == [] and f.agents()["bob"]["pending_change"] is not None
    f.wait(lambda: updates == ["Break"])
    time.sleep(0.4)
    assert updates == ["Break"], "exactly one Worker update"
    assert f.worker("bob").activity.name == "Break"
    assert f.agents()["bob"]["pending_change"] is None
    assert len([e for e in f.audit("agent-activity-after-call") if e["outcome"] == "ok"]) == 1


def test_two_processes_claiming_together_take_the_change_once(
    redis_target: RedisTarget, namespace: str
) -> None:
    """The take is one script: of many claims at once (processes, repeated events), one wins."""
    from live.after_call import AfterCall, PendingChange

    async def run() -> list[PendingChange | None]:
        redis = async_client(redis_target)
        try:
            tag = "{" + namespace + "}"
            await redis.hset(f"{tag}:tr:worker:WK1", mapping={"phase": "assigned", "task": "WT1"})
            after = AfterCall(redis, namespace=namespace)
            change = PendingChange("Break", "WA1", "理由", "ana", 1)
            assert await after.set("WK1", change) == "WT1"
            assert await after.claim("WK1") is None, "still on its call"
            await redis.hset(f"{tag}:tr:worker:WK1", mapping={"phase": "none", "task": ""})
            return list(await asyncio.gather(*(after.claim("WK1") for _ in range(20))))
        finally:
            await redis.aclose()

    claims = asyncio.run(run())
    taken = [c for c in claims if c is not None]
    assert len(taken) == 1 and taken[0].reason == "理由"


def test_complete_a_stuck_wrap_up_with_a_reason(stuck_floor: Floor) -> None:
    f = stuck_floor
    call = _on_call(f)
    with f.as_("ana") as http:
        early = http.post("/api/agents/bob/wrap-up/complete", json={"reason": "x",
                          "task_sid": "WT" + "0" * 32})  # fmt: skip
        assert early.status_code == 409 and early.json()["error"]["code"] == "task-moved"
    with f.control() as http:
        http.post(f"/sim/tasks/{call['task_sid']}/actions", json={"action": "hangup"})
    f.wait(lambda: f.agents()["bob"]["phase"] == "wrapping")
    with f.as_("ana") as http:
        no_reason = http.post("/api/agents/bob/wrap-up/complete", json={})
        assert no_reason.status_code == 422
        done = http.post("/api/agents/bob/wrap-up/complete",
                         json={"reason": "後処理の放置", "task_sid": call["task_sid"]})  # fmt: skip
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    task = f.workspace.tasks[call["task_sid"]]
    assert (task.status, task.reason) == ("completed", "後処理の放置")
    f.wait(lambda: f.agents()["bob"]["phase"] is None)
    [entry] = f.audit("complete-task")
    assert entry["supervisor"] == "ana" and "後処理の放置" in entry["detail"]
    # Again: bob holds no task any more.
    with f.as_("ana") as http:
        again = http.post("/api/agents/bob/wrap-up/complete", json={"reason": "again"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "no-task"


def test_twilios_refusal_reaches_the_supervisor_in_twilios_words(stuck_floor: Floor) -> None:
    """Completing a task TaskRouter says is not assigned: our board thought it was (an event
    lost), Twilio refuses, and the supervisor reads Twilio's message."""
    f = stuck_floor
    call = _on_call(f)
    # Someone completes it elsewhere (Flex), and the events saying so are lost.
    f.workspace.config.lose = frozenset({"task.completed", "reservation.completed"})
    f.workspace.update_task(f.workspace.tasks[call["task_sid"]], "completed", "elsewhere")
    assert f.agents()["bob"]["phase"] == "assigned", "the board still thinks bob holds it"
    with f.as_("mina") as http:
        refused = http.post("/api/agents/bob/wrap-up/complete", json={"reason": "stuck"})
    assert refused.status_code == 409, refused.text
    assert "Twilio refused" in refused.json()["error"]["message"]
    assert "Cannot complete" in refused.json()["error"]["message"]
    assert f.audit("complete-task")[0]["outcome"] == "refused"


def test_end_a_call_and_remove_a_leg(floor: Floor) -> None:
    f = floor
    first = _on_call(f)
    conference = f.engine.live_conference_named(first["task_sid"])
    assert conference is not None
    sid = conference.sid

    def live() -> dict[str, Any]:
        with f.as_("mina") as http:
            return dict(http.get(f"/api/conferences/{sid}").json())

    f.wait(lambda: live().get("agent") == "bob")
    with f.as_("ana") as http:
        joined = http.post(f"/api/conferences/{sid}/monitors", json={"mode": "listen"})
        assert joined.status_code == 201
    f.wait(lambda: any(m.get("call_sid") for m in live()["monitors"]))
    leg = next(m["call_sid"] for m in live()["monitors"] if m.get("call_sid"))
    with f.as_("ken") as http:  # not his team
        refused = http.delete(f"/api/conferences/{sid}/participants/{leg}")
        assert refused.status_code == 403
    with f.as_("mina") as http:  # the forgotten supervisor leg
        removed = http.delete(f"/api/conferences/{sid}/participants/{leg}")
    assert removed.status_code == 202, removed.text
    assert removed.json()["role"] == "supervisor"
    f.wait(lambda: not live()["monitors"])
    assert conference.status != "completed", "the call goes on"
    with f.as_("ana") as http:
        unconfirmed = http.post(f"/api/conferences/{sid}/end", json={})
        assert unconfirmed.status_code == 422
        assert conference.status != "completed"
        ended = http.post(f"/api/conferences/{sid}/end", json={"confirm": True})
    assert ended.status_code == 202, ended.text
    assert conference.status == "completed" and conference.reason_ended == (
        "conference-ended-via-api"
    )
    with f.as_("ana") as http:
        again = http.post(f"/api/conferences/{sid}/end", json={"confirm": True})
    assert again.status_code in (404, 409)
    actions = {(e["action"], e["supervisor"], e["outcome"]) for e in f.audit("end-call")}
    actions |= {(e["action"], e["supervisor"], e["outcome"]) for e in f.audit("remove-leg")}
    assert actions == {("end-call", "ana", "ok"), ("remove-leg", "mina", "ok")}


def test_a_floor_without_taskrouter_says_so(wired: Any) -> None:
    with wired.api("mina") as http:
        listed = http.get("/api/activities").json()
        answer = http.put("/api/agents/bob/activity", json={"activity": "Break"})
    assert listed == {"taskrouter": False, "activities": []}
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "no-taskrouter"
    assert "TaskRouter" in answer.json()["error"]["message"]
