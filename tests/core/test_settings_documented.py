"""Every setting README documents takes effect (issue 21 §3).

Five settings of README's table (EARPIECE_SERVICE_LEVEL_TARGET, EARPIECE_QUEUE_WAIT_ALERT_SECONDS,
EARPIECE_ROUTING_STUCK_SECONDS, EARPIECE_WRAPUP_ALERT_SECONDS, EARPIECE_AWAY_ALERT_SECONDS)
had a field in `Settings` that the wiring passed on, but `load()` never read them from the
environment: setting one changed nothing. Two checks keep that from coming back:

- README's settings table is parsed; for every name in it, `load()` with a sample value
  set must give a `Settings` that differs from the one without it, and every field that
  differs must be read somewhere in the product outside core/settings.py (an `ast`
  scan for the attribute, or for a `Settings` property that reads it). A name without a
  sample value here fails the test, so a new row needs one;
- for the five that were dead, the running service (signed TaskRouter events in, the
  JSON API out) shows each one's alert with the setting, and none of them without it.
"""

from __future__ import annotations

import ast
import json
import re
import time
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from core.redis_client import RedisTarget
from core.settings import SETTINGS, Settings, load, markdown_table
from tests.conftest import API_TOKEN, DEMO_ROSTER, make_settings
from tests.helpers import ServerThread, post_signed, sid

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_PY = ROOT / "core" / "settings.py"
PRODUCT = ["core", "earpiece", "access", "live", "callbacks", "coach", "dashboard", "archive",
           "wiring"]  # fmt: skip

# A valid value for each setting that differs from its default: the table's own example.
SAMPLES = {spec.env: spec.example for spec in (item.metadata["spec"] for item in SETTINGS)}
SAMPLES["EARPIECE_ROSTER"] = DEMO_ROSTER  # a file that exists wherever the tests run
# What a setting needs beside it to load at all (both with and without it).
CONTEXT = {"EARPIECE_OIDC_ISSUER": {"EARPIECE_OIDC_AUDIENCE": "earpiece-api"}}


def documented() -> list[str]:
    """The names in the first column of README's settings table (`| name | default | ...`).
    `A` / `_B_SECONDS` in one cell is shorthand for A and A's first two words + _B_SECONDS."""
    lines = (ROOT / "README.md").read_text("utf-8").splitlines()
    start = lines.index("| name | default | meaning |")
    names: list[str] = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cell = line.split("|")[1]
        tokens = re.findall(r"`([A-Z_][A-Z0-9_]*)`", cell)
        first = tokens[0]
        for token in tokens:
            names.append("_".join(first.split("_")[:2]) + token if token.startswith("_") else token)
    return names


def read_outside_settings() -> set[str]:
    """Attribute names the product reads anywhere but core/settings.py, plus the
    Settings fields that settings.py's own properties read on behalf of a name in it."""
    outside: set[str] = set()
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            if path == SETTINGS_PY:
                continue
            tree = ast.parse(path.read_text("utf-8"))
            outside |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    tree = ast.parse(SETTINGS_PY.read_text("utf-8"))
    settings_class = next(n for n in tree.body
                          if isinstance(n, ast.ClassDef) and n.name == "Settings")  # fmt: skip
    through: set[str] = set()
    for item in settings_class.body:
        if isinstance(item, ast.FunctionDef) and item.name in outside:
            through |= {n.attr for n in ast.walk(item)
                        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
                        and n.value.id == "self"}  # fmt: skip
    return outside | through


def differing(name: str) -> list[str]:
    base = dict(CONTEXT.get(name, {}))
    without = load(base, env_file=None)
    with_it = load({**base, name: SAMPLES[name]}, env_file=None)
    return [f.name for f in fields(Settings)
            if getattr(without, f.name) != getattr(with_it, f.name)]  # fmt: skip


def test_readme_table_is_the_settings_table() -> None:
    """README's table is made from core/settings.py's (issue 24: one table, not five
    places to keep in step): paste `earpiece settings` into README when this fails."""
    text = (ROOT / "README.md").read_text("utf-8")
    assert markdown_table() in text, "README's settings table differs: run `earpiece settings`"
    internal = {item.metadata["spec"].env for item in SETTINGS if item.metadata["spec"].internal}
    assert set(documented()) | internal == {item.metadata["spec"].env for item in SETTINGS}


def test_a_settings_field_without_its_row_cannot_be_declared() -> None:
    """Every field of Settings is declared with setting() (its env name, cast, meaning)."""
    assert all("spec" in item.metadata for item in fields(Settings))
    envs = [item.metadata["spec"].env for item in SETTINGS]
    assert len(envs) == len(set(envs)), "two fields read one environment variable"


def test_the_readme_table_is_found_and_read_whole() -> None:
    names = documented()
    assert len(names) > 50
    assert {"EARPIECE_SSE_QUEUE_SIZE", "EARPIECE_AWAY_ALERT_SECONDS", "TWILIO_EDGE"} <= set(names)


def test_every_documented_setting_changes_a_field_that_the_product_reads() -> None:
    read = read_outside_settings()
    missing = [n for n in documented() if n not in SAMPLES]
    assert missing == [], f"give these README settings a sample value here: {missing}"
    # Every setting, the internal ones (not in README) too.
    dead = {name: differing(name) for name in SAMPLES}
    ignored = sorted(name for name, changed in dead.items() if not changed)
    assert ignored == [], f"README documents these, but load() ignores them: {ignored}"
    unread = {name: [f for f in changed if f not in read]
              for name, changed in dead.items() if any(f not in read for f in changed)}  # fmt: skip
    assert unread == {}, f"loaded, but no part of Earpiece reads them: {unread}"


def test_the_check_would_have_caught_the_five() -> None:
    """The five that were dead: each now changes its own field (on the old load() each
    changed none, which the test above reports by name)."""
    assert differing("EARPIECE_SERVICE_LEVEL_TARGET") == ["service_level_target"]
    assert differing("EARPIECE_QUEUE_WAIT_ALERT_SECONDS") == ["queue_wait_alert_seconds"]
    assert differing("EARPIECE_ROUTING_STUCK_SECONDS") == ["routing_stuck_seconds"]
    assert differing("EARPIECE_WRAPUP_ALERT_SECONDS") == ["wrapup_alert_seconds"]
    assert differing("EARPIECE_AWAY_ALERT_SECONDS") == ["away_alert_seconds"]


# -- behaviour: the five change what the wallboard says -----------------------------------

QUEUE = "WQ" + "a" * 32
WORKERS = {"bob": "WK" + "1" * 32, "carol": "WK" + "2" * 32, "nick": "WK" + "3" * 32,
           "heidi": "WK" + "4" * 32, "ivan": "WK" + "5" * 32, "judy": "WK" + "6" * 32}  # fmt: skip


def _event(kind: str, at_s: float, **extra: str) -> dict[str, str]:
    return {"EventType": kind, "AccountSid": "AC" + "0" * 32, "WorkspaceSid": "WS" + "0" * 32,
            "Sid": sid("EV"), "Timestamp": str(int(at_s)), "TimestampMs": str(int(at_s * 1000)),
            **extra}  # fmt: skip


def _worker(name: str, activity: str) -> dict[str, str]:
    return {"WorkerSid": WORKERS[name], "WorkerName": name, "WorkerActivityName": activity,
            "WorkerAttributes": json.dumps({"contact_uri": f"client:{name}"})}  # fmt: skip


def _task(task: str, status: str, entered_s: float) -> dict[str, str]:
    caller = {"call_sid": sid("CA"), "from": "+815012340000"}
    return {"TaskSid": task, "TaskAssignmentStatus": status, "TaskQueueSid": QUEUE,
            "TaskQueueName": "sales", "TaskQueueEnteredDate": str(int(entered_s)),
            "TaskDateCreated": str(int(entered_s)), "TaskPriority": "0",
            "TaskAttributes": json.dumps(caller)}  # fmt: skip


def floor_story(now: float) -> list[dict[str, str]]:
    """A sales queue, dated from now: one caller waiting 10 s while bob is available; four
    callers answered within 2 s and one who hung up waiting (service level 0.8); carol in
    wrap-up for 10 s; nick on a break for 30 s."""
    story = [_event("worker.activity.update", now - 60, **_worker("bob", "Available")),
             _event("worker.activity.update", now - 30, **_worker("nick", "Break"))]  # fmt: skip
    for name in ("carol", "heidi", "ivan", "judy"):
        task = sid("WT")
        story += [
            _event("worker.activity.update", now - 90, **_worker(name, "Available")),
            _event("task-queue.entered", now - 50, **_task(task, "pending", now - 50)),
            _event("reservation.accepted", now - 48, ReservationSid=sid("WR"),
                   **_task(task, "assigned", now - 50), **_worker(name, "Busy")),
        ]  # fmt: skip
        if name == "carol":
            story.append(_event("task.wrapup", now - 10, **_task(task, "wrapping", now - 50),
                                **_worker(name, "Busy")))  # fmt: skip
    gone = sid("WT")
    story += [
        _event("task-queue.entered", now - 40, **_task(gone, "pending", now - 40)),
        _event("task.canceled", now - 35, **_task(gone, "canceled", now - 40)),
        _event("task-queue.entered", now - 10, **_task(sid("WT"), "pending", now - 10)),
    ]
    return story


@pytest.fixture
def alerts_with(redis_target: RedisTarget, namespace: str) -> Iterator[Any]:
    started: list[ServerThread] = []

    def run(**setting: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start a service with `setting`, tell it the story; the sales queue and agents."""
        from earpiece.service import create_app

        port = ServerThread.free_port()
        settings = make_settings(redis_target.url, f"{namespace}{len(started)}",
                                 f"http://127.0.0.1:{port}", **setting)  # fmt: skip
        service = ServerThread(create_app(settings, redis_target), port, settings)
        service.start()
        started.append(service)
        with service.client() as http:
            for params in floor_story(time.time()):
                answer = post_signed(http, settings, "/twilio/taskrouter-events", params)
                assert answer.status_code == 204, (params["EventType"], answer.text)
        with service.client(API_TOKEN) as http:
            queues = http.get("/api/queues").json()["queues"]
            agents = http.get("/api/agents").json()["agents"]
        sales = next(q for q in queues if q["name"] == "sales")
        return sales, {a["agent"]: a for a in agents if a["agent"]}

    yield run
    for service in started:
        service.stop()


FIVE = {
    "EARPIECE_QUEUE_WAIT_ALERT_SECONDS": ("queue", None, "long-wait"),
    "EARPIECE_ROUTING_STUCK_SECONDS": ("queue", None, "routing-stuck"),
    "EARPIECE_SERVICE_LEVEL_TARGET": ("queue", None, "service-level"),
    "EARPIECE_WRAPUP_ALERT_SECONDS": ("agent", "carol", "long-wrap-up"),
    "EARPIECE_AWAY_ALERT_SECONDS": ("agent", "nick", "long-away"),
}


def test_by_default_the_story_raises_none_of_the_five_alerts(alerts_with: Any) -> None:
    sales, agents = alerts_with()
    assert sales["waiting"] == 1 and sales["today"]["service_level"] == 0.8
    assert sales["alerts"] == []
    assert agents["carol"]["phase"] == "wrapping" and agents["carol"]["alerts"] == []
    assert agents["nick"]["available"] is False and agents["nick"]["alerts"] == []


@pytest.mark.parametrize("name", sorted(FIVE))
def test_each_of_the_five_settings_changes_what_the_wallboard_says(
    alerts_with: Any, name: str
) -> None:
    where, agent, alert = FIVE[name]
    sales, agents = alerts_with(**{name: SAMPLES[name]})
    shown = sales["alerts"] if where == "queue" else agents[str(agent)]["alerts"]
    assert shown == [alert], (name, sales["alerts"], {a: v["alerts"] for a, v in agents.items()})
    if where == "agent":
        assert sales["alerts"] == []  # the setting moved that agent's alert, nothing else
