"""Streams end with the credential that opened them, a ticket opens only its own stream for as
long as its credential lives, and one credential cannot take every stream (issue 22).

Over real HTTP, against the running service and its real Redis: streams are held open in
threads while a key is revoked or a session signed out, on this process and on another one
sharing the Redis.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from access import api_keys
from core import tickets
from core.redis_client import RedisTarget, sync_client
from tests.conftest import Wired
from tests.live.test_board import Watcher

ENDED_WITHIN_SECONDS = 6.0  # the streams check every 2 s; the rest is slack for a slow CI


@pytest.fixture(autouse=True)
def _close_watchers() -> Iterator[None]:
    yield
    while Watcher.open:
        Watcher.open.pop().close()


def redis_of(wired: Wired) -> object:
    settings = wired.service.settings
    assert settings is not None and settings.redis_url is not None
    return sync_client(RedisTarget(settings.redis_url, False, None))


def key_id(key: str) -> str:
    return key.split("_")[1]


def revoke(wired: Wired, key: str) -> None:
    """What `earpiece api-key revoke` does: the key's record goes from Redis."""
    settings = wired.service.settings
    assert settings is not None
    redis = redis_of(wired)
    assert redis.hdel(api_keys.hash_key(settings.namespace), key_id(key)) == 1  # type: ignore[attr-defined]
    redis.close()  # type: ignore[attr-defined]


def ended(watcher: Watcher) -> bool:
    return not watcher._thread.is_alive()


def ticket(http: httpx.Client, stream: str) -> str:
    answer = http.post(f"/api/events/ticket?stream={stream}")
    assert answer.status_code == 201, answer.text
    assert answer.json().get("stream", stream) == stream  # (a ticket before issue 22 had none)
    return str(answer.json()["ticket"])


def opening(http: httpx.Client, url: str) -> tuple[int, str, dict[str, str]]:
    """Open a stream and hang up at once: its status, and the body of a refusal."""
    with http.stream("GET", url) as answer:
        body = answer.read().decode() if answer.status_code != 200 else ""
        return answer.status_code, body, dict(answer.headers)


def test_revoking_a_key_ends_its_open_streams_on_every_process_and_its_tickets(
    wiring: Callable[..., Wired],
) -> None:
    one = wiring(EARPIECE_SSE_PING_SECONDS="1")
    two = wiring(EARPIECE_SSE_PING_SECONDS="1")  # another process of the service, one Redis
    assert one.service.settings is not None and two.service.settings is not None
    assert one.service.settings.namespace == two.service.settings.namespace
    call = one.new_call("bob")
    key = one.key("ana")
    two.keys[("ana", "supervisor")] = key
    with one.api("ana") as http_one, two.api("ana") as http_two, one.api("mina") as other:
        held = [
            Watcher(http_one, "/events"),
            Watcher(http_one, "/events/board"),
            Watcher(http_two, "/events"),
            Watcher(http_two, f"/events/transcript?sid={call['conference_sid']}"),
        ]
        bystander = Watcher(other, "/events/board")  # someone else's stream stays
        assert [w.status for w in [*held, bystander]] == [200] * 5
        early = ticket(http_one, "board")  # minted before the revocation
        time.sleep(2.5)  # every stream is well into its loop
        assert not any(ended(w) for w in held)
        revoked_at = time.monotonic()
        revoke(one, key)
        Wired.wait(lambda: all(ended(w) for w in held), ENDED_WITHIN_SECONDS)
        took = time.monotonic() - revoked_at
        assert took < ENDED_WITHIN_SECONDS
        # Each says why it ended.
        assert all(w.events and w.events[-1].event == "revoked" for w in held), [
            [e.event for e in w.events] for w in held
        ]
        assert not ended(bystander)
        status, body, _ = opening(http_one, f"/events/board?ticket={early}")
        assert status == 401 and "revoked" in body
        assert http_one.post("/api/events/ticket").status_code == 401


def test_signing_out_ends_the_sessions_streams_and_refuses_its_tickets(wired: Wired) -> None:
    settings = wired.service.settings
    assert settings is not None
    redis = redis_of(wired)
    session = "{" + settings.namespace + "}:session:test-" + str(time.time_ns())
    redis.set(session, b"{}", ex=600)  # type: ignore[attr-defined]
    holder = tickets.Holder("supervisor", "mina", session, stream="board")
    import asyncio

    from core.redis_client import async_client

    async def mint(stream: str) -> str:
        client = async_client(RedisTarget(settings.redis_url or "", False, None))
        try:
            made = await tickets.issue(
                client, settings.namespace,
                tickets.Holder(holder.kind, holder.ident, holder.session, stream=stream),
            )  # fmt: skip
        finally:
            await client.aclose()
        return made.ticket

    with httpx.Client(base_url=wired.service.url, timeout=10) as http:
        board = Watcher(http, f"/events/board?ticket={asyncio.run(mint('board'))}")
        feed = Watcher(http, f"/events?ticket={asyncio.run(mint('events'))}")
        assert board.status == 200 and feed.status == 200
        unused = asyncio.run(mint("board"))
        time.sleep(2.5)
        assert not ended(board) and not ended(feed)
        redis.delete(session)  # type: ignore[attr-defined]  # signed out (SessionStore.end_all)
        Wired.wait(lambda: ended(board) and ended(feed), ENDED_WITHIN_SECONDS)
        assert board.events[-1].event == "signed-out" and feed.events[-1].event == "signed-out"
        status, body, _ = opening(http, f"/events/board?ticket={unused}")
        assert status == 401 and "signed out" in body
    redis.close()  # type: ignore[attr-defined]


def test_a_ticket_opens_only_the_stream_it_was_made_for(wired: Wired) -> None:
    call = wired.new_call("bob")
    with wired.api("ana") as http:
        for made_for, opened in (
            ("board", "/events"),
            ("events", "/events/board"),
            ("board", f"/events/transcript?sid={call['conference_sid']}"),
            ("transcript", "/events"),
        ):
            joiner = "&" if "?" in opened else "?"
            status, body, _ = opening(http, f"{opened}{joiner}ticket={ticket(http, made_for)}")
            assert status == 401, (made_for, opened)
            assert f"made for the {made_for} stream" in body
        # And each opens its own, for the person it was made for.
        with httpx.Client(base_url=wired.service.url, timeout=10) as anonymous:
            page = Watcher(anonymous, f"/events/transcript?sid={call['conference_sid']}"
                                      f"&ticket={ticket(http, 'transcript')}")  # fmt: skip
            assert page.status == 200
            feed = Watcher(anonymous, f"/events?ticket={ticket(http, 'events')}")
            assert feed.status == 200


def test_one_credential_gets_its_fair_share_and_nobody_else_is_starved(
    wiring: Callable[..., Wired],
) -> None:
    shares = {"EARPIECE_STREAMS_PER_PERSON": "3", "EARPIECE_BOARD_VIEWS_PER_PERSON": "2",
              "EARPIECE_TICKETS_PER_MINUTE": "4"}  # fmt: skip
    wired = wiring(EARPIECE_SSE_PING_SECONDS="1", **shares)
    with wired.api("bob", "agent") as agent, wired.api() as token, wired.api("mina") as mina:
        # An agent's key floods /events: three streams, then 429 with the reason.
        flood = [Watcher(agent, "/events") for _ in range(3)]
        assert [w.status for w in flood] == [200, 200, 200]
        status, body, headers = opening(agent, "/events")
        assert status == 429
        assert "agent bob already holds 3 open streams" in body and headers["retry-after"]
        # Someone else still gets theirs.
        assert Watcher(mina, "/events").status == 200
        # A stream given back is a stream to open again.
        flood.pop().close()
        Wired.wait(lambda: Watcher(agent, "/events").status == 200, 10)

        # The service token asks for distinct board views: two, then 429; one it already
        # watches is no new view.
        assert Watcher(token, "/events/board?team=billing").status == 200
        assert Watcher(token, "/events/board?team=support").status == 200
        status, body, _ = opening(token, "/events/board?team=sales-east")
        assert status == 429 and "2 different board views" in body
        assert Watcher(token, "/events/board?team=billing").status == 200
        assert Watcher(mina, "/events/board?team=sales-east").status == 200  # not starved

        # Tickets: four a minute for one person (on every process), then 429; others still.
        minute = int(time.time() // 60)
        answers = [token.post("/api/events/ticket?stream=board") for _ in range(9)]
        statuses = [a.status_code for a in answers]
        assert 429 in statuses, statuses
        if int(time.time() // 60) == minute:  # no minute boundary in between: exactly four
            assert statuses[:5] == [201, 201, 201, 201, 429], statuses
        refusal = answers[statuses.index(429)]
        assert "4 tickets a minute" in refusal.json()["error"]["message"]
        assert refusal.headers["retry-after"]
        assert mina.post("/api/events/ticket").status_code == 201
