"""The simulator's TaskRouter Workspace through the real twilio SDK, its answers checked
against TaskRouter's OpenAPI schemas, and its signed events as TaskRouter posts them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.helpers import Receiver, ServerThread
from tests.twilio_schema import problems, response_schema, schema_of

TASKROUTER = "taskrouter"


@dataclass
class Floor:
    url: str
    thread: ServerThread
    receiver: Receiver

    @property
    def workspace(self) -> Any:
        return self.thread.app.state.workspace

    def twilio(self) -> Any:
        from core.settings import load
        from core.twilio_client import make_client

        settings = load({"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                         "TWILIO_API_BASE_URL": self.url}, env_file=None)  # fmt: skip
        return make_client(settings)

    def client(self) -> Any:
        return self.twilio().taskrouter.v1.workspaces(self.workspace.sid)

    def control(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def events(self, kind: str | None = None) -> list[dict[str, str]]:
        posted = [r.params for r in self.receiver.received if r.path == "/taskrouter-events"]
        return [e for e in posted if kind is None or e["EventType"] == kind]


@pytest.fixture
def floor(receiver: Receiver) -> Iterator[Floor]:
    from twilio_sim.app import create_app
    from twilio_sim.config import Endpoint, SimConfig
    from twilio_sim.taskrouter.workspace import WorkspaceConfig

    config = SimConfig(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                       callback_url=receiver.url + "/conference-events",
                       default_endpoint=Endpoint("answer", 0.05), seed=3)  # fmt: skip
    workspace = WorkspaceConfig(receiver.url + "/taskrouter-events", accept_seconds=0.05,
                                wrapup_seconds=0.1)  # fmt: skip
    port = ServerThread.free_port()
    app = create_app(config, workspace=workspace, workers={"bob": ("sales",), "carol": ("sales",)})
    thread = ServerThread(app, port, None)
    thread.start()
    yield Floor(f"http://127.0.0.1:{port}", thread, receiver)
    thread.stop()


def test_a_caller_waits_is_routed_and_lands_in_a_conference_named_for_the_task(
    floor: Floor,
) -> None:
    with floor.control() as http:
        for agent in ("bob", "carol"):
            assert http.post(f"/sim/workers/{agent}/activity",
                             json={"activity": "Break"}).status_code == 200  # fmt: skip
        waiting = http.post("/sim/calls", json={"queue": "sales"}).json()
    task_sid = waiting["task_sid"]
    ws = floor.client()
    [queue] = ws.task_queues.list()
    stats = ws.task_queues(queue.sid).real_time_statistics().fetch()
    assert stats.tasks_by_status["pending"] == 1 and stats.total_available_workers == 0
    assert stats.longest_task_waiting_sid == task_sid

    with floor.control() as http:
        http.post("/sim/workers/bob/activity", json={"activity": "Available"})
    floor.receiver.wait_for(lambda: floor.events("reservation.accepted"))
    accepted = floor.events("reservation.accepted")[0]
    assert accepted["TaskSid"] == task_sid and accepted["WorkerName"] == "bob"
    assert json.loads(accepted["WorkerAttributes"])["contact_uri"] == "client:bob"
    assert json.loads(accepted["TaskAttributes"])["call_sid"] == waiting["customer_call_sid"]
    assert all(r.valid for r in floor.receiver.received), "every event is signed"

    # The conference instruction: FriendlyName is the TaskSid, and nobody carries a label.
    floor.receiver.wait_for(
        lambda: (
            len(
                [
                    e
                    for e in floor.receiver.events()
                    if e["StatusCallbackEvent"] == "participant-join"
                ]
            )
            == 2
        )
    )
    joins = [e for e in floor.receiver.events() if e["StatusCallbackEvent"] == "participant-join"]
    assert {e["FriendlyName"] for e in joins} == {task_sid}
    assert not any("ParticipantLabel" in e for e in joins)
    assert waiting["customer_call_sid"] in {e["CallSid"] for e in joins}
    # In TaskRouter's order (its contact-center blueprint's call-control concepts): the
    # worker's leg joins first, then the caller is moved in, and that join starts it.
    floor.receiver.wait_for(lambda: any(e["StatusCallbackEvent"] == "conference-start"
                                        for e in floor.receiver.events()))  # fmt: skip
    story = sorted((e for e in floor.receiver.events() if e["FriendlyName"] == task_sid),
                   key=lambda e: int(e["SequenceNumber"]))  # fmt: skip
    assert [(e["StatusCallbackEvent"], e.get("CallSid") == waiting["customer_call_sid"])
            for e in story[:3]] == [
        ("participant-join", False), ("participant-join", True), ("conference-start", False),
    ]  # fmt: skip

    task = ws.tasks(task_sid).fetch()
    assert task.assignment_status == "assigned"
    [reservation] = ws.tasks(task_sid).reservations.list()
    assert (reservation.worker_name, reservation.reservation_status) == ("bob", "accepted")
    with floor.control() as http:
        assert http.post(f"/sim/tasks/{task_sid}/actions",
                         json={"action": "hangup"}).status_code == 200  # fmt: skip
    floor.receiver.wait_for(lambda: floor.events("task.completed"))
    # Each event is its own request, so they may arrive in another order (as Twilio's do,
    # which Earpiece copes with); the order they happened in is their TimestampMs.
    story_of_task = {e["EventType"]: int(e["TimestampMs"]) for e in floor.events()
                     if e.get("TaskSid") == task_sid}  # fmt: skip
    happened = ["task.created", "task-queue.entered", "reservation.created",
                "reservation.accepted", "task.wrapup", "reservation.wrapup",
                "reservation.completed", "task.completed"]  # fmt: skip
    assert sorted(story_of_task) == sorted(happened)
    assert len([e for e in floor.events() if e.get("TaskSid") == task_sid]) == len(happened)
    stamps = [story_of_task[kind] for kind in happened]
    assert stamps == sorted(stamps) and all(e["Sid"].startswith("EV") for e in floor.events())


def test_a_caller_who_hangs_up_waiting_is_a_canceled_task(floor: Floor) -> None:
    with floor.control() as http:
        for agent in ("bob", "carol"):
            http.post(f"/sim/workers/{agent}/activity", json={"activity": "Offline"})
        sid = http.post("/sim/calls", json={"queue": "sales"}).json()["task_sid"]
        assert http.post(f"/sim/tasks/{sid}/actions",
                         json={"action": "abandon"}).json()["status"] == "canceled"  # fmt: skip
        again = http.post(f"/sim/tasks/{sid}/actions", json={"action": "abandon"})
    assert again.status_code == 400
    floor.receiver.wait_for(lambda: floor.events("task.canceled"))
    [canceled] = floor.events("task.canceled")
    assert (
        canceled["TaskCanceledReason"] == "hangup"
        and canceled["TaskAssignmentStatus"] == "canceled"
    )
    ws = floor.client()
    [queue] = ws.task_queues.list()
    totals = ws.task_queues(queue.sid).cumulative_statistics().fetch()
    assert (totals.tasks_entered, totals.tasks_canceled) == (1, 1)
    [break_update] = [e for e in floor.events("worker.activity.update")
                      if e["WorkerName"] == "bob"]  # fmt: skip
    assert break_update["WorkerActivityName"] == "Offline"
    assert break_update["WorkerPreviousActivityName"] == "Available"


def test_every_answer_is_shaped_as_taskrouter_says(floor: Floor) -> None:
    with floor.control() as http:
        http.post("/sim/calls", json={"queue": "sales"})
        http.post("/sim/calls", json={"queue": "support"})  # a queue nobody serves: waits
    ws, sid = floor.client(), floor.workspace.sid
    base, auth = floor.url + f"/v1/Workspaces/{sid}", (ACCOUNT_SID, AUTH_TOKEN)
    queue_sid = ws.task_queues.list()[0].sid
    checks = {
        "": "taskrouter.v1.workspace",
        f"/TaskQueues/{queue_sid}": "taskrouter.v1.workspace.task_queue",
        f"/TaskQueues/{queue_sid}/RealTimeStatistics":
            "taskrouter.v1.workspace.task_queue.task_queue_real_time_statistics",
        f"/TaskQueues/{queue_sid}/CumulativeStatistics":
            "taskrouter.v1.workspace.task_queue.task_queue_cumulative_statistics",
    }  # fmt: skip
    for path, name in checks.items():
        answer = httpx.get(base + path, auth=auth).json()
        assert problems(answer, schema_of(name, TASKROUTER), source=TASKROUTER) == [], path
    for path, key, name in (("/Activities", "activities", "taskrouter.v1.workspace.activity"),
                            ("/TaskQueues", "task_queues", "taskrouter.v1.workspace.task_queue"),
                            ("/Workers", "workers", "taskrouter.v1.workspace.worker"),
                            ("/Tasks", "tasks", "taskrouter.v1.workspace.task")):  # fmt: skip
        page = httpx.get(base + path, auth=auth).json()
        assert page[key] and page["meta"]["key"] == key
        for item in page[key]:
            assert problems(item, schema_of(name, TASKROUTER), source=TASKROUTER) == [], path
    task_sid = httpx.get(base + "/Tasks", auth=auth).json()["tasks"][0]["sid"]
    page_of = httpx.get(base + f"/Tasks/{task_sid}/Reservations", auth=auth).json()
    assert page_of["meta"]["key"] == "reservations"
    for item in page_of["reservations"]:
        assert problems(item, schema_of("taskrouter.v1.workspace.task.task_reservation",
                                        TASKROUTER), source=TASKROUTER) == []  # fmt: skip
    # GET /v1/Workspaces: the account's Workspaces, as the SDK lists them.
    listed = httpx.get(floor.url + "/v1/Workspaces", auth=auth).json()
    assert problems(listed, response_schema("/v1/Workspaces", "get", "200", TASKROUTER),
                    source=TASKROUTER) == []  # fmt: skip
    assert [w["sid"] for w in listed["workspaces"]] == [sid]
    assert listed["meta"]["key"] == "workspaces"
    sdk = floor.twilio().taskrouter.v1.workspaces  # the list, through the twilio SDK
    assert [w.sid for w in sdk.list()] == [sid]
    assert sdk.list(friendly_name="no such workspace") == []
    assert httpx.get(floor.url + "/v1/Workspaces", auth=(ACCOUNT_SID, "x")).status_code == 401
    assert httpx.get(base + "/Tasks", auth=(ACCOUNT_SID, "wrong")).status_code == 401
    assert httpx.get(floor.url + "/v1/Workspaces/WSnope/Tasks", auth=auth).status_code == 404
    pending = ws.tasks.list(assignment_status=["pending"])
    assert [t.task_queue_friendly_name for t in pending] == ["support"]


def test_taskrouter_events_are_sent_once_even_when_refused() -> None:
    """TaskRouter documents no retry of its event callbacks: the simulator must not be kinder
    than Twilio (a test would pass on a lie); a lost event is the reconciler's to repair."""
    import time

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from twilio_sim.app import create_app
    from twilio_sim.config import SimConfig
    from twilio_sim.taskrouter.workspace import WorkspaceConfig

    posted: list[str] = []

    async def refuse(request: Request) -> Response:
        posted.append((await request.form())["EventType"])  # type: ignore[arg-type]
        return Response(status_code=503)

    receiver_port = ServerThread.free_port()
    down = ServerThread(Starlette(routes=[Route("/tr", refuse, methods=["POST"])]),
                        receiver_port, None)  # fmt: skip
    down.start()
    port = ServerThread.free_port()
    sim = ServerThread(create_app(
        SimConfig(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN),
        workspace=WorkspaceConfig(f"http://127.0.0.1:{receiver_port}/tr"),
        workers={"bob": ("sales",)},
    ), port, None)  # fmt: skip
    sim.start()
    try:
        deadline = time.monotonic() + 3
        while "worker.created" not in posted and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)  # longer than the retry backoff the conference callbacks get
        assert posted == ["worker.created"]
    finally:
        sim.stop()
        down.stop()


def test_lists_answer_attributes_null_as_twilio_does_and_a_fetch_has_them(floor: Floor) -> None:
    """Twilio's file: a Task's and a Worker's `attributes` "will only be displayed in FETCH
    action that returns a single resource. Otherwise, it will be null" (issue 21)."""
    for name in ("taskrouter.v1.workspace.task", "taskrouter.v1.workspace.worker"):
        said = schema_of(name, TASKROUTER)["properties"]["attributes"]
        assert said["nullable"] is True and "only be displayed in FETCH" in said["description"]
    with floor.control() as http:
        waiting = http.post("/sim/calls", json={"queue": "support"}).json()  # nobody serves it
    ws, sid = floor.client(), floor.workspace.sid
    base, auth = floor.url + f"/v1/Workspaces/{sid}", (ACCOUNT_SID, AUTH_TOKEN)
    for path, key, name in (("/Workers", "workers", "taskrouter.v1.workspace.worker"),
                            ("/Tasks", "tasks", "taskrouter.v1.workspace.task")):  # fmt: skip
        page = httpx.get(base + path, auth=auth).json()
        assert page[key], path
        for item in page[key]:
            assert "attributes" in item and item["attributes"] is None, path
            fetched = httpx.get(f"{base}{path}/{item['sid']}", auth=auth).json()
            assert problems(fetched, schema_of(name, TASKROUTER), source=TASKROUTER) == []
            assert isinstance(json.loads(fetched["attributes"]), dict), path
    # The same through the SDK the reconciler uses.
    [task] = ws.tasks.list(assignment_status=["pending"])
    assert task.attributes is None
    attributes = json.loads(ws.tasks(waiting["task_sid"]).fetch().attributes)
    assert attributes["call_sid"] == waiting["customer_call_sid"]
    bob = next(w for w in ws.workers.list() if w.friendly_name == "bob")
    assert bob.attributes is None
    assert json.loads(ws.workers(bob.sid).fetch().attributes)["contact_uri"] == "client:bob"


def test_the_list_of_workspaces_is_shaped_as_taskrouter_says(floor: Floor) -> None:
    from core.settings import load
    from core.twilio_client import make_client
    from tests.twilio_schema import response_schema

    auth = (ACCOUNT_SID, AUTH_TOKEN)
    page = httpx.get(floor.url + "/v1/Workspaces", auth=auth).json()
    schema = response_schema("/v1/Workspaces", "get", "200", TASKROUTER)
    assert problems(page, schema, source=TASKROUTER) == []
    assert [w["sid"] for w in page["workspaces"]] == [floor.workspace.sid]
    assert page["meta"]["key"] == "workspaces"
    named = httpx.get(floor.url + "/v1/Workspaces", auth=auth,
                      params={"FriendlyName": "no such floor"}).json()  # fmt: skip
    assert named["workspaces"] == []
    assert httpx.get(floor.url + "/v1/Workspaces", auth=(ACCOUNT_SID, "wrong")).status_code == 401
    settings = load({"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                     "TWILIO_API_BASE_URL": floor.url}, env_file=None)  # fmt: skip
    [listed] = make_client(settings).taskrouter.v1.workspaces.list()
    assert (listed.sid, listed.friendly_name) == (floor.workspace.sid, floor.workspace.config.name)


def test_sim_taskrouter_without_traffic_makes_every_roster_agent_a_worker(tmp_path: Any) -> None:
    """`earpiece sim --taskrouter --no-traffic`: nobody takes labelled conferences, so every
    roster agent is a Worker in their team's queue (a floor to drive by hand)."""
    import os
    import subprocess
    import sys
    import time

    from core.settings import load
    from core.twilio_client import make_client
    from live.roster import load as load_roster

    port = ServerThread.free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REDIS_URL", "TWILIO_", "EARPIECE_"))}  # fmt: skip
    env.update(TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN)
    sim = subprocess.Popen(
        [sys.executable, "-m", "earpiece.cli", "sim", "--taskrouter", "--no-traffic",
         "--port", str(port), "--callback-url", "http://127.0.0.1:9/twilio/conference-events"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(url + "/v1/Workspaces", auth=(ACCOUNT_SID, AUTH_TOKEN)).is_success:
                    break
            except httpx.TransportError:
                pass
            assert sim.poll() is None and time.monotonic() < deadline, "the simulator did not start"
            time.sleep(0.2)
        settings = load({"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                         "TWILIO_API_BASE_URL": url}, env_file=None)  # fmt: skip
        taskrouter = make_client(settings).taskrouter.v1
        [workspace] = taskrouter.workspaces.list()
        workers = taskrouter.workspaces(workspace.sid).workers.list()
        roster = load_roster(None)
        assert {w.friendly_name for w in workers} >= set(roster.agents)
        queues = {q.sid: q.friendly_name
                  for q in taskrouter.workspaces(workspace.sid).task_queues.list()}  # fmt: skip
        team = next(t for t in roster.teams.values() if t.agents)
        assert team.queue in queues.values()
    finally:
        sim.terminate()
        sim.wait(10)
