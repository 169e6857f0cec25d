"""The simulator's Worker and Task updates through the real twilio SDK (issue 27 §7): TaskRouter's
rules for moving an agent's activity (pending reservations, RejectPendingReservations) and for
completing a task left in wrap-up, the refusals Twilio gives, and the events each causes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.helpers import Receiver, ServerThread
from tests.sim.test_sim_taskrouter import TASKROUTER, Floor
from tests.twilio_schema import problems, schema_of


def _floor(receiver: Receiver, *, accept: float, wrapup: float) -> Iterator[Floor]:
    from twilio_sim.app import create_app
    from twilio_sim.config import Endpoint, SimConfig
    from twilio_sim.taskrouter.workspace import WorkspaceConfig

    config = SimConfig(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                       callback_url=receiver.url + "/conference-events",
                       default_endpoint=Endpoint("answer", 0.05), seed=5)  # fmt: skip
    workspace = WorkspaceConfig(receiver.url + "/taskrouter-events", accept_seconds=accept,
                                wrapup_seconds=wrapup)  # fmt: skip
    port = ServerThread.free_port()
    app = create_app(config, workspace=workspace, workers={"bob": ("sales",), "carol": ("sales",)})
    thread = ServerThread(app, port, None)
    thread.start()
    yield Floor(f"http://127.0.0.1:{port}", thread, receiver)
    thread.stop()


@pytest.fixture
def slow_accept(receiver: Receiver) -> Iterator[Floor]:
    """Reservations stay pending (the agent has not accepted yet)."""
    yield from _floor(receiver, accept=3600, wrapup=0.1)


@pytest.fixture
def stuck(receiver: Receiver) -> Iterator[Floor]:
    """Wrap-ups never end by themselves (the agent walked away from the wrap-up screen)."""
    yield from _floor(receiver, accept=0.05, wrapup=3600)


def _activity(ws: Any, name: str) -> str:
    return str(next(a.sid for a in ws.activities.list() if a.friendly_name == name))


def _worker(ws: Any, name: str) -> Any:
    return next(w for w in ws.workers.list() if w.friendly_name == name)


def test_moving_a_worker_to_break_through_the_sdk_is_an_activity_update_event(
    slow_accept: Floor,
) -> None:
    floor = slow_accept
    ws = floor.client()
    bob = _worker(ws, "bob")
    updated = ws.workers(bob.sid).update(activity_sid=_activity(ws, "Break"))
    assert (updated.activity_name, updated.available) == ("Break", False)
    fetched = ws.workers(bob.sid).fetch()
    assert fetched.activity_name == "Break"
    floor.receiver.wait_for(lambda: floor.events("worker.activity.update"))
    [event] = floor.events("worker.activity.update")
    assert event["WorkerSid"] == bob.sid and event["WorkerActivityName"] == "Break"
    assert event["WorkerPreviousActivityName"] == "Available"
    assert all(r.valid for r in floor.receiver.received)


def test_worker_update_refusals_are_twilios(slow_accept: Floor) -> None:
    ws = slow_accept.client()
    bob = _worker(ws, "bob")
    with pytest.raises(TwilioRestException) as unknown:
        ws.workers(bob.sid).update(activity_sid="WA" + "0" * 32)
    assert unknown.value.status == 400 and "does not exist" in unknown.value.msg
    # RejectPendingReservations only with an unavailable activity (the OpenAPI file says so).
    with pytest.raises(TwilioRestException) as wrong:
        ws.workers(bob.sid).update(activity_sid=_activity(ws, "Available"),
                                   reject_pending_reservations=True)  # fmt: skip
    assert wrong.value.status == 400 and "only valid" in wrong.value.msg
    with pytest.raises(TwilioRestException) as missing:
        ws.workers("WK" + "f" * 32).fetch()
    assert missing.value.status == 404


def test_an_activity_deleted_at_twilio_is_refused_by_a_worker_update(slow_accept: Floor) -> None:
    """DeleteActivity through the SDK (an administrator in the Console): the Activity is gone
    from the list, a Worker update towards it is TaskRouter's 400 naming it, and one a Worker
    is in is kept (the simulator will not leave a Worker in no Activity)."""
    ws = slow_accept.client()
    bob = _worker(ws, "bob")
    gone = _activity(ws, "Break")
    assert ws.activities(gone).fetch().friendly_name == "Break"
    assert ws.activities(gone).delete() is True
    assert "Break" not in [a.friendly_name for a in ws.activities.list()]
    with pytest.raises(TwilioRestException) as refused:
        ws.workers(bob.sid).update(activity_sid=gone)
    assert refused.value.status == 400 and refused.value.code == 20001
    assert f"Activity {gone} does not exist" in refused.value.msg
    with pytest.raises(TwilioRestException) as held:
        ws.activities(_activity(ws, "Available")).delete()
    assert held.value.status == 400 and "cannot be deleted" in held.value.msg
    assert ws.workers(bob.sid).fetch().activity_name == "Available"


def test_a_pending_reservation_blocks_an_unavailable_activity_unless_rejected(
    slow_accept: Floor,
) -> None:
    floor = slow_accept
    ws = floor.client()
    carol = _worker(ws, "carol")
    ws.workers(carol.sid).update(activity_sid=_activity(ws, "Break"))
    with floor.control() as http:
        task_sid = http.post("/sim/calls", json={"queue": "sales"}).json()["task_sid"]
    assert ws.tasks(task_sid).fetch().assignment_status == "reserved"
    bob = _worker(ws, "bob")
    brk = _activity(ws, "Break")
    with pytest.raises(TwilioRestException) as refused:
        ws.workers(bob.sid).update(activity_sid=brk)
    assert refused.value.status == 400 and "pending reservation" in refused.value.msg
    assert ws.workers(bob.sid).fetch().activity_name == "Available", "a refusal changes nothing"
    # Between available activities a pending reservation stays (TaskRouter changelog, April
    # 2024): the Workspace has one available activity, so the same one again changes nothing.
    ws.workers(bob.sid).update(activity_sid=_activity(ws, "Available"))
    assert ws.tasks(task_sid).fetch().assignment_status == "reserved"

    moved = ws.workers(bob.sid).update(activity_sid=brk, reject_pending_reservations=True)
    assert moved.activity_name == "Break"
    [reservation] = ws.tasks(task_sid).reservations.list()
    assert reservation.reservation_status == "rejected"
    assert ws.tasks(task_sid).fetch().assignment_status == "pending", "back to the queue"
    floor.receiver.wait_for(lambda: floor.events("reservation.rejected"))
    assert floor.events("reservation.rejected")[0]["TaskSid"] == task_sid
    # Carol comes back: the task, waiting again, goes to her.
    ws.workers(carol.sid).update(activity_sid=_activity(ws, "Available"))
    reservations = ws.tasks(task_sid).reservations.list()
    assert {(r.worker_name, r.reservation_status) for r in reservations} == {
        ("bob", "rejected"),
        ("carol", "pending"),
    }


def test_a_stuck_wrap_up_is_completed_with_a_reason_and_the_call_is_left_alone(
    stuck: Floor,
) -> None:
    floor = stuck
    ws = floor.client()
    with floor.control() as http:
        waiting = http.post("/sim/calls", json={"queue": "sales"}).json()
    task_sid = waiting["task_sid"]
    floor.receiver.wait_for(lambda: floor.events("reservation.accepted"))
    # Completing needs a Reason ("required only if the Task is canceled or completed").
    with pytest.raises(TwilioRestException) as no_reason:
        ws.tasks(task_sid).update(assignment_status="completed")
    assert no_reason.value.status == 400 and "Reason" in no_reason.value.msg
    with floor.control() as http:
        http.post(f"/sim/tasks/{task_sid}/actions", json={"action": "hangup"})
    floor.receiver.wait_for(lambda: floor.events("task.wrapup"))
    assert ws.tasks(task_sid).fetch().assignment_status == "wrapping"

    reason = "後処理のまま放置 (left in wrap-up) by lead"
    done = ws.tasks(task_sid).update(assignment_status="completed", reason=reason)
    assert (done.assignment_status, done.reason) == ("completed", reason)
    floor.receiver.wait_for(lambda: floor.events("task.completed"))
    [event] = floor.events("task.completed")
    assert event["TaskCompletedReason"] == reason and event["TaskAssignmentStatus"] == "completed"
    assert [e["ReservationSid"] for e in floor.events("reservation.completed")]
    answer = ws.tasks(task_sid).fetch()
    raw = {k: getattr(answer, k) for k in ("assignment_status", "reason")}
    assert raw == {"assignment_status": "completed", "reason": reason}
    # Completing it again is refused: a completed task is not assigned or wrapping.
    with pytest.raises(TwilioRestException) as again:
        ws.tasks(task_sid).update(assignment_status="completed", reason="again")
    assert again.value.status == 400 and "Cannot complete" in again.value.msg
    assert len(floor.events("task.completed")) == 1, "one completion, one event"


def test_completing_an_assigned_task_ends_no_call_and_frees_the_worker(stuck: Floor) -> None:
    floor = stuck
    ws = floor.client()
    with floor.control() as http:
        task_sid = http.post("/sim/calls", json={"queue": "sales"}).json()["task_sid"]
    floor.receiver.wait_for(lambda: floor.events("reservation.accepted"))
    done = ws.tasks(task_sid).update(assignment_status="completed", reason="finished by lead")
    assert done.assignment_status == "completed"
    conference = floor.thread.app.state.engine.live_conference_named(task_sid)
    assert conference is not None and conference.status != "completed", "the call goes on"
    worker = floor.workspace.workers[str(floor.workspace.tasks[task_sid].worker)]
    assert worker.task is None, "free for the next caller"


def test_task_updates_refused_where_taskrouter_refuses_them(slow_accept: Floor) -> None:
    floor = slow_accept
    ws = floor.client()
    with floor.control() as http:
        for agent in ("bob", "carol"):
            http.post(f"/sim/workers/{agent}/activity", json={"activity": "Offline"})
        task_sid = http.post("/sim/calls", json={"queue": "sales"}).json()["task_sid"]
    for status in ("completed", "wrapping"):
        with pytest.raises(TwilioRestException) as refused:
            ws.tasks(task_sid).update(assignment_status=status, reason="x")
        assert refused.value.status == 400 and "currently assigned" in refused.value.msg
    canceled = ws.tasks(task_sid).update(assignment_status="canceled", reason="キャンセル")
    assert (canceled.assignment_status, canceled.reason) == ("canceled", "キャンセル")
    floor.receiver.wait_for(lambda: floor.events("task.canceled"))
    assert floor.events("task.canceled")[0]["TaskCanceledReason"] == "キャンセル"


def test_updated_workers_and_tasks_are_shaped_as_taskrouter_says(stuck: Floor) -> None:
    import httpx

    floor = stuck
    ws, sid = floor.client(), floor.workspace.sid
    base, auth = floor.url + f"/v1/Workspaces/{sid}", (ACCOUNT_SID, AUTH_TOKEN)
    bob = _worker(ws, "bob")
    answer = httpx.post(base + f"/Workers/{bob.sid}", auth=auth,
                        data={"ActivitySid": _activity(ws, "Break")}).json()  # fmt: skip
    assert problems(answer, schema_of("taskrouter.v1.workspace.worker", TASKROUTER),
                    source=TASKROUTER) == []  # fmt: skip
    with floor.control() as http:
        task_sid = http.post("/sim/calls", json={"queue": "sales"}).json()["task_sid"]
    floor.receiver.wait_for(lambda: floor.events("reservation.accepted"))
    answer = httpx.post(base + f"/Tasks/{task_sid}", auth=auth,
                        data={"AssignmentStatus": "wrapping"}).json()  # fmt: skip
    assert answer["assignment_status"] == "wrapping"
    assert problems(answer, schema_of("taskrouter.v1.workspace.task", TASKROUTER),
                    source=TASKROUTER) == []  # fmt: skip
    bad = httpx.post(base + f"/Tasks/{task_sid}", auth=auth, data={"AssignmentStatus": "nope"})
    assert bad.status_code == 400 and bad.json()["code"] == 20001
