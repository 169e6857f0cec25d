"""`GET /events` over a real HTTP connection: live changes, resumption, snapshots."""

from __future__ import annotations

import json
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, connect_sse

from tests.conftest import API_TOKEN
from tests.helpers import Conference, ServerThread, post_signed, sid

PATH = "/twilio/conference-events"


def read(events: Any, n: int) -> list[ServerSentEvent]:
    out: list[ServerSentEvent] = []
    for event in events:
        if event.event in ("", "ping") or not event.event:
            continue
        out.append(event)
        if len(out) == n:
            break
    return out


def _story(n_agents: int) -> tuple[Conference, list[dict[str, str]]]:
    conf = Conference()
    events = [conf.event("participant-join", sid("CA"), ParticipantLabel="customer")]
    for i in range(n_agents):
        events.append(conf.event("participant-join", sid("CA"), ParticipantLabel=f"agent:a{i}"))
    return conf, events


def stream(client: httpx.Client, **headers: str) -> Any:
    return connect_sse(
        client, "GET", "/events", headers={"Authorization": f"Bearer {API_TOKEN}", **headers}
    )


def test_changes_arrive_as_conference_events_with_stream_ids(server: ServerThread) -> None:
    conf, events = _story(2)
    with server.client() as http, stream(http) as source:
        for params in events:
            assert post_signed(http, server.settings, PATH, params).status_code == 204
        received = read(source.iter_sse(), 3)
    assert [e.event for e in received] == ["conference"] * 3
    assert all(e.id for e in received)
    assert len({e.id for e in received}) == 3
    last = json.loads(received[-1].data)
    assert last["sid"] == conf.sid
    assert len(last["participants"]) == 3


def test_reconnect_with_last_event_id_gets_what_it_missed_in_order(server: ServerThread) -> None:
    _, events = _story(5)
    with server.client() as http:
        with stream(http) as source:
            for params in events[:2]:
                post_signed(http, server.settings, PATH, params)
            seen = read(source.iter_sse(), 2)
        # Disconnected: these happen while nobody listens.
        for params in events[2:5]:
            post_signed(http, server.settings, PATH, params)
        with stream(http, **{"Last-Event-ID": seen[-1].id}) as source:
            received = source.iter_sse()
            missed = read(received, 3)
            post_signed(http, server.settings, PATH, events[5])
            [live] = read(received, 1)
    counts = [len(json.loads(e.data)["participants"]) for e in [*missed, live]]
    assert counts == [3, 4, 5, 6]
    ids = [e.id for e in [*seen, *missed, live]]
    assert len(set(ids)) == len(ids)


def test_conference_end_is_its_own_event(server: ServerThread) -> None:
    conf, events = _story(1)
    with server.client() as http, stream(http) as source:
        for params in events:
            post_signed(http, server.settings, PATH, params)
        post_signed(http, server.settings, PATH, conf.event("conference-end"))
        received = read(source.iter_sse(), 3)
    assert received[-1].event == "conference-ended"
    assert json.loads(received[-1].data) == {"sid": conf.sid}


def test_snapshot_then_live(server: ServerThread) -> None:
    with server.client() as http:
        for _ in range(3):
            for params in _story(1)[1]:
                post_signed(http, server.settings, PATH, params)
        with connect_sse(http, "GET", "/events?snapshot=1",
                         headers={"Authorization": f"Bearer {API_TOKEN}"}) as source:  # fmt: skip
            received = read(source.iter_sse(), 5)
    assert [e.event for e in received] == [
        "reset",
        "conference",
        "conference",
        "conference",
        "sync",
    ]
    assert json.loads(received[-1].data) == {"live": 3}
    assert received[-1].id


def test_an_id_older_than_the_feed_gets_a_reset(server: ServerThread) -> None:
    with server.client() as http:
        for params in _story(1)[1]:
            post_signed(http, server.settings, PATH, params)
        with stream(http, **{"Last-Event-ID": "1-0"}) as source:
            received = read(source.iter_sse(), 3)
    assert [e.event for e in received] == ["reset", "conference", "sync"]


def test_a_malformed_last_event_id_is_400(server: ServerThread) -> None:
    with server.client(API_TOKEN) as http:
        for bad in ("yesterday", "1-", "99999999999999999999-0"):
            response = http.get("/events", headers={"Last-Event-ID": bad})
            assert response.status_code == 400, bad
            assert response.json()["error"]["code"] == "bad-last-event-id"


def test_sse_headers(server: ServerThread) -> None:
    with server.client() as http, stream(http) as source:
        headers = source.response.headers
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["cache-control"] == "no-store"
    assert headers["x-accel-buffering"] == "no"
