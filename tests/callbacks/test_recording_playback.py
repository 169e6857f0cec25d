# ruff: noqa: F811 (the fixture imported from test_archive is the parameter)
"""A played recording reaches only a signed-in, allowed person (issue 22): the browser's
player fetches it from the callback service with a one-time ticket of that recording and
that person; redeeming it sets an HttpOnly playback grant for that recording's path, so
the player can seek (Range) while the URL alone, its ticket used, plays for nobody."""

from __future__ import annotations

import asyncio
import io
import time
import wave
from typing import Any

import httpx

from access.sessions import SessionStore
from callbacks.recording_media import GRANT_COOKIE, scope
from core import tickets
from core.redis_client import RedisTarget, async_client
from tests.archive.test_archive import archived, floor  # noqa: F401 (the fixture)
from tests.conftest import SESSION_SECRET, Wired
from tests.live.test_transcript import state


def redis_run(wired: Wired, work: Any) -> Any:
    settings = wired.service.settings
    assert settings is not None and settings.redis_url is not None

    async def go() -> Any:
        redis = async_client(RedisTarget(settings.redis_url or "", False, None))
        try:
            return await work(redis, settings.namespace)
        finally:
            await redis.aclose()

    return asyncio.run(go())


def signed_in(wired: Wired, who: str) -> str:
    """A dashboard session of `who`: its Redis key (what a ticket from the page names)."""

    async def work(redis: Any, namespace: str) -> str:
        store = SessionStore(redis, namespace, SESSION_SECRET, 3600)
        session = await store.check(await store.create(who))
        assert session is not None
        return session.key

    return str(redis_run(wired, work))


def ticket(wired: Wired, who: str, session: str | None, of: str | None) -> str:
    async def work(redis: Any, namespace: str) -> str:
        holder = tickets.Holder("supervisor", who, session, stream=of or "events")
        return (await tickets.issue(redis, namespace, holder)).ticket

    return str(redis_run(wired, work))


def sign_out(wired: Wired, who: str) -> None:
    async def work(redis: Any, namespace: str) -> None:
        await SessionStore(redis, namespace, SESSION_SECRET, 3600).end_all(who)

    redis_run(wired, work)


def ended_recorded_call(wired: Wired) -> tuple[str, str]:
    call = wired.new_call("tara")  # billing: recorded
    sid, customer = call["conference_sid"], call["customer_call_sid"]
    wired.wait(lambda: state(wired, sid) == "on", 10)
    recorder = wired.sim.thread.app.state.recorder
    wired.wait(lambda: any(r.call_sid == customer for r in recorder.recordings.values()), 10)
    time.sleep(1)  # a second of audio
    wired.act(sid, "leave", customer)
    wired.wait(lambda: bool((archived(wired, sid) or {}).get("recordings")), 15)
    (recording,) = (archived(wired, sid) or {})["recordings"]
    return sid, str(recording["sid"])


def playbacks(wired: Wired, who: str) -> int:
    with wired.api("mina") as http:
        entries = http.get("/api/audit", params={"supervisor": who}).json()["entries"]
    return sum(e["action"] == "playback" for e in entries)


def test_a_recording_plays_for_its_ticket_once_and_seeks_with_its_grant(
    floor: Wired,
) -> None:
    sid, rid = ended_recorded_call(floor)
    path = f"/api/history/{sid}/recordings/{rid}"

    def done() -> dict[str, Any] | None:  # Twilio has processed it: it has media
        (recording,) = (archived(floor, sid) or {})["recordings"]
        return recording if recording.get("status") == "completed" else None

    floor.wait(lambda: done() is not None, 15)
    with floor.api("quincy") as qa:
        whole = qa.get(path).content  # a bearer credential: the whole file, audited
    assert whole[:4] == b"RIFF" and len(whole) > 1000
    # As long as the recording says it is (issue 28: one labelled 229 s played 3 s).
    with wave.open(io.BytesIO(whole)) as heard:
        assert heard.getnframes() / heard.getframerate() == max(1, int(done()["duration"]))  # type: ignore[index]
    before = playbacks(floor, "quincy")
    session = signed_in(floor, "quincy")
    base = floor.service.url
    with httpx.Client(base_url=base) as anyone:
        # No ticket, a made-up one, a stream's ticket, another recording's ticket: refused.
        assert anyone.get(path).status_code == 401
        assert anyone.get(path, params={"ticket": "x" * 30}).status_code == 401
        stream_ticket = ticket(floor, "quincy", session, None)
        assert anyone.get(path, params={"ticket": stream_ticket}).status_code == 401
        other = ticket(floor, "quincy", session, scope("RE" + "0" * 32))
        assert anyone.get(path, params={"ticket": other}).status_code == 401
        # A recording's ticket opens no stream either.
        scoped = ticket(floor, "quincy", session, scope(rid))
        with anyone.stream("GET", "/events/board", params={"ticket": scoped}) as board:
            assert board.status_code == 401
    good = ticket(floor, "quincy", session, scope(rid))
    url = f"{path}?ticket={good}"
    with httpx.Client(base_url=base) as player:
        first = player.get(url, headers={"Range": "bytes=0-99"})
        assert first.status_code == 206, first.text
        assert first.headers["content-range"] == f"bytes 0-99/{len(whole)}"
        assert first.content == whole[:100] and first.headers["accept-ranges"] == "bytes"
        cookie = first.headers["set-cookie"].lower()
        assert cookie.startswith(GRANT_COOKIE) and "httponly" in cookie
        assert "samesite=strict" in cookie and f"path={path.lower()}" in cookie
        # The player seeks: the same URL, its grant along.
        middle = player.get(url, headers={"Range": "bytes=1000-1099"})
        assert middle.status_code == 206 and middle.content == whole[1000:1100]
        tail = player.get(url, headers={"Range": "bytes=-10"})
        assert tail.status_code == 206 and tail.content == whole[-10:]
        rest = player.get(url, headers={"Range": f"bytes={len(whole) - 5}-"})
        assert rest.content == whole[-5:]
        past = player.get(url, headers={"Range": f"bytes={len(whole) + 10}-"})
        assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(whole)}"
        # A range of more digits than int() converts (Python's 4,300) was a 500; a range
        # RFC 9110 cannot mean (its digits are ASCII, and no file is 10**5000 bytes) is
        # ignored, as a server may, and the whole answered.
        odd = player.get(url, headers={"Range": "bytes=" + "9" * 5000 + "-"})
        assert odd.status_code == 200 and odd.content == whole
        plain = player.get(url)
        assert plain.status_code == 200 and plain.content == whole
        # Replayed elsewhere (the URL without the grant): refused.
        with httpx.Client(base_url=base) as replay:
            assert replay.get(url).status_code == 401
        # One playback in the audit for the ticket, not one per seek.
        assert playbacks(floor, "quincy") == before + 1
        # Signing out ends the playback too.
        sign_out(floor, "quincy")
        assert player.get(url, headers={"Range": "bytes=0-9"}).status_code == 401


def test_a_recording_ticket_of_someone_not_allowed_plays_nothing(
    floor: Wired,
) -> None:
    sid, rid = ended_recorded_call(floor)
    path = f"/api/history/{sid}/recordings/{rid}"
    # ana leads sales-east: a billing call is not hers (as with her key: 404, nothing said).
    lead = ticket(floor, "ana", signed_in(floor, "ana"), scope(rid))
    with httpx.Client(base_url=floor.service.url) as http:
        answer = http.get(path, params={"ticket": lead})
        assert answer.status_code == 404 and "set-cookie" not in answer.headers
        assert answer.content[:4] != b"RIFF"

    # No grant was made for her either: nothing in Redis opens it later.
    async def grants(redis: Any, namespace: str) -> list[Any]:
        return [k async for k in redis.scan_iter(match="{" + namespace + "}:playback:*")]

    assert redis_run(floor, grants) == []
