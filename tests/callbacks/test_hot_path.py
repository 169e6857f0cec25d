"""Twilio's callbacks skip Starlette's middleware and router (callbacks/hot_path.py): every
answer must be the one the router's chain gives, refusals and failures included."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from starlette.testclient import TestClient

from callbacks.app import HOT
from callbacks.hot_path import HotPathStarlette
from core.redis_client import RedisTarget
from core.settings import Settings
from earpiece.service import create_app
from tests.helpers import Conference, post_signed, sid

PATH = "/twilio/conference-events"


@pytest.fixture
def client(settings: Settings, redis_target: RedisTarget) -> Iterator[TestClient]:
    app = create_app(settings, redis_target)
    # Server errors answered, not raised: as uvicorn gives a caller the 500.
    with TestClient(
        app, base_url=settings.public_base_url or "", raise_server_exceptions=False
    ) as c:
        yield c


def answer(response: Any) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k not in ("date", "server")}
    return response.status_code, response.content, headers


def both(client: TestClient, request: Callable[[], Any]) -> tuple[Any, Any]:
    """The answer through the hot path, then through Starlette's own chain."""
    app = client.app
    assert isinstance(app, HotPathStarlette) and set(app.hot) == set(HOT)
    hot = answer(request())
    saved, app.hot = app.hot, {}
    try:
        routed = answer(request())
    finally:
        app.hot = saved
    return hot, routed


def test_every_refusal_is_answered_as_the_router_answers_it(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = Conference()
    join = conf.event("participant-join", sid("CA"), ParticipantLabel="customer")
    cases: dict[str, Callable[[], Any]] = {
        "forged": lambda: client.post(PATH, data=join, headers={"X-Twilio-Signature": "bm8="}),
        "unsigned": lambda: client.post(PATH, data=join),
        "malformed": lambda: post_signed(client, settings, PATH, {**join, "SequenceNumber": "x"}),
        "too large": lambda: client.post(PATH, content=b"a=" + b"b" * 2_000_000),
        "not a form": lambda: client.post(
            PATH, content=b"\xff\xfe", headers={"X-Twilio-Signature": "x"}
        ),
        "another method": lambda: client.get(PATH),
        "call status": lambda: post_signed(
            client, settings, "/twilio/call-events", {"CallSid": "nope", "CallStatus": "ringing"}
        ),
    }
    for name, request in cases.items():
        hot, routed = both(client, request)
        assert hot == routed, name
        assert (400 <= hot[0] < 500 and b'"error"' in hot[1]) or hot[0] == 405, (name, hot)

    # Redis away: 503 with Retry-After (Twilio tries again), through both.
    async def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(client.app.state.ctx.floor, "apply", unreachable)  # type: ignore[attr-defined]
    fresh = Conference().event("participant-join", sid("CA"), ParticipantLabel="customer")
    hot, routed = both(client, lambda: post_signed(client, settings, PATH, fresh))
    assert hot == routed and hot[0] == 503 and hot[2]["retry-after"] == "1", hot

    # A failure nobody expected: a 500 with a JSON reason, never a traceback.
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("surprise")

    monkeypatch.setattr(client.app.state.ctx.floor, "apply", broken)  # type: ignore[attr-defined]
    hot, routed = both(client, lambda: post_signed(client, settings, PATH, fresh))
    assert hot == routed and hot[0] == 500 and b"Traceback" not in hot[1], hot


def test_a_signed_callback_goes_the_hot_way_and_applies(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hot path really is taken: Starlette's router never sees the callback."""
    routed: list[str] = []
    router = client.app.router  # type: ignore[attr-defined]
    original = type(router).__call__

    async def spying(self: Any, scope: Any, receive: Any, send: Any) -> None:
        routed.append(scope["path"])
        await original(self, scope, receive, send)

    monkeypatch.setattr(type(router), "__call__", spying)
    conf = Conference()
    response = post_signed(
        client,
        settings,
        PATH,
        conf.event("participant-join", sid("CA"), ParticipantLabel="customer"),
    )
    assert response.status_code == 204 and response.headers["x-earpiece-outcome"] == "applied"
    assert routed == []
    assert client.get("/healthz").status_code == 200 and routed == ["/healthz"]
