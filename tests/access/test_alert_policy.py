"""access/alert_policy.py on a real Redis: a supervisor is told of a cue once per call and
cause (a phrase said again, in English or Japanese, is not a new one; a help request asked
again after an answer is), only for calls they may join, and two tabs never both ring."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from access.alert_policy import CueLog, actionable, cause
from core.redis_client import AsyncRedis, RedisTarget, async_client
from live.roster import Supervisor

ANA = Supervisor("ana", "Ana", "lead", ("sales-east",), "client:ana")
QUINCY = Supervisor("quincy", "Quincy", "qa", (), "client:quincy")


@pytest.fixture
async def cues(redis_target: RedisTarget, namespace: str) -> AsyncIterator[CueLog]:
    redis: AsyncRedis = async_client(redis_target)
    try:
        yield CueLog(redis, namespace, keep_seconds=60)
    finally:
        await redis.aclose()


def phrase(sid: str, said: str) -> dict[str, Any]:
    return {"sid": sid, "phrase": said}


def help_request(sid: str, since: int) -> dict[str, Any]:
    return {"sid": sid, "since": since}


def test_a_lead_is_told_only_of_her_teams_calls_qa_of_every_team() -> None:
    floor: list[dict[str, str | None]] = [
        {"sid": "CF1", "team": "sales-east"}, {"sid": "CF2", "team": "billing"},
        {"sid": "CF3", "team": None},
    ]  # fmt: skip
    assert [c["sid"] for c in actionable(ANA, floor)] == ["CF1"]
    assert [c["sid"] for c in actionable(QUINCY, floor)] == ["CF1", "CF2", "CF3"]


def test_a_cause_is_the_call_and_what_happened() -> None:
    assert cause(phrase("CF1", "Cancel My Account")) == cause(phrase("CF1", "cancel my account"))
    assert cause(phrase("CF1", "解約")) != cause(phrase("CF2", "解約"))
    assert cause(help_request("CF1", 1)) != cause(help_request("CF1", 2))


async def test_a_repeated_phrase_rings_once_and_a_new_help_request_again(cues: CueLog) -> None:
    first = [phrase("CF1", "cancel my account"), phrase("CF1", "解約"), help_request("CF1", 1)]
    assert await cues.first_time("ana", first) == first
    again = [phrase("CF1", "CANCEL my account"), phrase("CF1", "解約"), help_request("CF1", 1)]
    assert await cues.first_time("ana", again) == []
    asked_again = help_request("CF1", 2)  # answered, then asked again: a new cause
    assert await cues.first_time("ana", [asked_again, asked_again]) == [asked_again]
    # Another supervisor has her own record: she is told too.
    assert await cues.first_time("mina", first) == first
    assert await cues.first_time("ana", []) == []


async def test_two_tabs_asking_at_once_ring_once(cues: CueLog) -> None:
    said = [phrase("CF9", "返金してください")]
    tabs = await asyncio.gather(*(cues.first_time("ken", said) for _ in range(5)))
    assert sorted(len(t) for t in tabs) == [0, 0, 0, 0, 1]
    assert 0 < await cues.redis.ttl(cues.key("ken")) <= 60
