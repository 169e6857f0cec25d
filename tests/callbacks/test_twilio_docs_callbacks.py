"""Earpiece on callbacks exactly as Twilio documents them (tests/data/twilio-docs/, each
story citing its pages): every event kind, a whisper whose callbacks carry no
CallSidToCoach, legs that never join, every ReasonConferenceEnded, and a conference
TaskRouter made. Each story is posted signed, in order, and the floor is checked."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from core.redis_client import RedisTarget
from core.settings import Settings
from earpiece.service import create_app
from tests.conftest import API_TOKEN
from tests.helpers import post_signed, sid

DOCS = json.loads(
    (
        Path(__file__).resolve().parents[1] / "data" / "twilio-docs" / "conference-callbacks.json"
    ).read_text()
)
PATH = "/twilio/conference-events"


@pytest.fixture
def client(settings: Settings, redis_target: RedisTarget) -> Iterator[TestClient]:
    with TestClient(create_app(settings, redis_target),
                    base_url=settings.public_base_url or "") as c:  # fmt: skip
        yield c


def fill(value: str, names: dict[str, str]) -> str:
    for name, real in names.items():
        value = value.replace("{" + name + "}", real)
    return value


def test_every_story_cites_its_pages() -> None:
    for name, story in DOCS["stories"].items():
        assert story["cites"] and set(story["cites"]) <= set(DOCS["sources"]), name


@pytest.mark.parametrize("name", sorted(DOCS["stories"]))
def test_a_documented_story_reaches_the_floor_as_told(
    client: TestClient, settings: Settings, name: str
) -> None:
    story = DOCS["stories"][name]
    names = {"CF": sid("CF"), "CUSTOMER": sid("CA"), "AGENT": sid("CA"),
             "SUPERVISOR": sid("CA"), "TASK": sid("WT")}  # fmt: skip
    friendly = fill(story.get("friendly_name", "{CUSTOMER}"), names)
    stamp = formatdate(time.time(), usegmt=False).replace("-0000", "+0000")
    for seq, event in enumerate(story["events"], start=1):
        params = {"AccountSid": "AC" + "0" * 32, "ConferenceSid": names["CF"],
                  "FriendlyName": friendly, "SequenceNumber": str(seq), "Timestamp": stamp,
                  **{k: fill(v, names) for k, v in event.items()}}  # fmt: skip
        assert "CallSidToCoach" not in params  # Twilio's callbacks never carry it
        answer = post_signed(client, settings, PATH, params)
        assert answer.status_code == 204, (event, answer.text)
    conference: dict[str, Any] = client.get(
        f"/api/conferences/{names['CF']}", headers={"Authorization": f"Bearer {API_TOKEN}"}
    ).json()
    expect = story["expect"]
    assert conference["state"] == expect["state"], conference
    if "roles" in expect:
        assert sorted(p["role"] for p in conference["participants"]) == sorted(expect["roles"])
    for leg, target in expect.get("coaching", {}).items():
        [coaching] = [p for p in conference["participants"] if p["call_sid"] == fill(leg, names)]
        assert coaching["coaching"] is True
        assert coaching["call_sid_to_coach"] == fill(target, names)


CALLS = json.loads(
    (
        Path(__file__).resolve().parents[1]
        / "data"
        / "twilio-docs"
        / "call-progress-callbacks.json"
    ).read_text()
)


@pytest.mark.parametrize("name", sorted(CALLS["stories"]))
def test_a_documented_leg_story_moves_the_monitor_as_told(wired: Any, name: str) -> None:
    """A supervisor's leg as Twilio reports its progress: an end (completed, busy, no answer)
    removes the monitor; ringing does not."""
    story = CALLS["stories"][name]
    assert story["cites"] and set(story["cites"]) <= set(CALLS["sources"])
    with wired.sim.control() as http:  # the leg rings and rings: only the story moves it
        http.put("/sim/endpoints/client:mina", json={"outcome": "answer", "delay": 60})
    call = wired.new_call("bob")
    sid_ = call["conference_sid"]
    with wired.api("mina") as http:
        joined = http.post(f"/api/conferences/{sid_}/monitors", json={"mode": "listen"})
    assert joined.status_code == 201, joined.text
    leg = joined.json()["call_sid"]
    settings = wired.service.settings
    stamp = formatdate(time.time(), usegmt=False).replace("-0000", "+0000")
    with wired.service.client() as http:
        for event in story["events"]:
            params = {**{k: fill(v, {"LEG": leg}) for k, v in event.items()}, "Timestamp": stamp}
            answer = post_signed(http, settings, "/twilio/call-events", params)
            assert answer.status_code == 204, answer.text
    if story["leg_removed"]:
        wired.wait(lambda: wired.monitor(sid_, "mina") is None)
    else:
        time.sleep(0.5)  # long enough for a wrong removal to show
        assert (wired.monitor(sid_, "mina") or {}).get("status") == "dialing"
