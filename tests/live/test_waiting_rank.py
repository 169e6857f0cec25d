"""Issue 28: callers waiting for an agent rank by how long they have waited against the
queue's wait threshold, not below every dead-air call; live/attention owns the rule."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from live.attention import WAIT_CAP, WEIGHTS, attention, order, waiting_score
from tests.conftest import Wired


def call(sid: str, state: str, alerts: list[str], **signals: Any) -> dict[str, Any]:
    return {"sid": sid, "state": state, "alerts": alerts, "started_at": None,
            "signals": {"waiting_since": None, "silent_since": None, **signals}}  # fmt: skip


def test_a_caller_scores_by_the_share_of_the_threshold_waited() -> None:
    assert waiting_score(0.0) == 0
    assert waiting_score(1.0) == WEIGHTS["long-wait"]
    assert waiting_score(0.5) < WEIGHTS["dead-air"] < waiting_score(0.8)
    assert waiting_score(10.0) == WAIT_CAP < WEIGHTS["help"]


def test_a_caller_past_the_threshold_ranks_above_dead_air_and_below_help() -> None:
    now = time.time()
    calls = [
        call("quiet", "talking", ["dead-air"]),
        call("fresh", "waiting", [], wait_share=0.1),
        call("long", "waiting", ["long-wait"], wait_share=3.5),  # 3:29 against a 60 s threshold
        call("help", "talking", ["help"]),
    ]
    assert [c["sid"] for c in order(calls, now)] == ["help", "long", "quiet", "fresh"]
    assert attention(calls[2], now).reasons[0].startswith("the caller has waited")
    assert attention(calls[1], now).score == waiting_score(0.1)


@pytest.fixture
def short_wait(wiring: Callable[..., Wired]) -> Wired:
    return wiring(EARPIECE_QUEUE_WAIT_ALERT_SECONDS="1", EARPIECE_DEAD_AIR_SECONDS="0.5")


def test_a_waiting_caller_on_the_floor_climbs_past_a_dead_air_call(short_wait: Wired) -> None:
    wired = short_wait
    quiet = wired.new_call("bob")
    sid = quiet["conference_sid"]
    wired.act(sid, "speech-start", quiet["agent_call_sid"])  # speech events flow on this call
    wired.act(sid, "speech-stop", quiet["agent_call_sid"])
    with wired.sim.control() as http:
        waiting = http.post("/sim/calls", json={"agent": "nick", "waiting": True}).json()
    wired.wait(lambda: wired.conference(waiting["conference_sid"]) is not None)
    c = wired.conference(waiting["conference_sid"]) or {}
    assert c["state"] == "waiting" and c["signals"]["waiting_since"] is not None
    wired.wait(lambda: "long-wait" in (wired.conference(waiting["conference_sid"]) or {})
               .get("alerts", []), 5.0)  # fmt: skip
    wired.wait(lambda: "dead-air" in (wired.conference(sid) or {}).get("alerts", []), 30.0)
    with wired.api() as http:
        rows = http.get("/api/conferences", params={"order": "attention"}).json()
    sids = [r["sid"] for r in (rows["conferences"] if isinstance(rows, dict) else rows)]
    assert sids.index(waiting["conference_sid"]) < sids.index(sid)
