"""When Redis stalls, the board stream says so within a few seconds and recovers by itself
(issue 21 §3).

A Redis that stops answering (rather than refusing connections) used to leave the board's
pass waiting on its socket timeout, and the pass loop or the stream then died with an
unhandled exception in the service log while the page kept ticking as if live. Here the
service runs against its own real redis-server (not the session's, which other tests
share), which the test freezes with SIGSTOP: the open `/events/board` stream must send a
`status` event saying the floor is out of reach well before Redis's own timeouts would
(5 s and a retry), log no traceback, and once the server is thawed say `ok` again and go
on delivering the floor's changes on the same connection.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from httpx_sse import connect_sse

from core.embedded_redis import redis_binary
from core.redis_client import RedisTarget
from tests.conftest import API_TOKEN, make_settings
from tests.helpers import Conference, ServerThread, post_signed, sid, start_redis_server

# Well under Redis's own timeouts (core/redis_client.py: 5 s, then one retry): only the
# board's watchdog (live/board_hub.py: a pass 2 s late, 3 s in all) can say it this soon.
SAYS_SO_WITHIN = 8.0


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def frozen_redis() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A redis-server of this test's own, on a free port."""
    port = ServerThread.free_port()
    process = start_redis_server(redis_binary(), port)
    yield process, f"redis://127.0.0.1:{port}/0"
    os.kill(process.pid, signal.SIGCONT)
    process.terminate()
    process.wait(10)


@dataclass
class Watcher:
    """An /events/board stream read in a thread: (monotonic time, event, data) as they come."""

    url: str
    events: list[tuple[float, str, Any]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        with (
            httpx.Client(base_url=self.url, timeout=httpx.Timeout(5, read=60)) as http,
            connect_sse(http, "GET", "/events/board", headers=headers) as source,
            contextlib.suppress(httpx.HTTPError),  # the service stops at the test's end
        ):
            for event in source.iter_sse():
                self.events.append((time.monotonic(), event.event, json.loads(event.data)))
                if self.stop.is_set():
                    return

    def wait_for(self, since: float, wanted: Any, seconds: float) -> tuple[float, Any]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for at, name, data in list(self.events):
                if at >= since and wanted(name, data):
                    return at, data
            time.sleep(0.05)
        raise AssertionError(f"not seen within {seconds} s; saw {self.events[-5:]}")


@pytest.fixture
def service_on_it(
    frozen_redis: tuple[subprocess.Popen[bytes], str], namespace: str
) -> Iterator[ServerThread]:
    from earpiece.service import create_app

    _, url = frozen_redis
    port = ServerThread.free_port()
    settings = make_settings(url, namespace, f"http://127.0.0.1:{port}",
                             EARPIECE_SSE_PING_SECONDS="1",
                             TWILIO_API_BASE_URL="http://127.0.0.1:9")  # fmt: skip
    service = ServerThread(create_app(settings, RedisTarget(url, False, None)), port, settings)
    service.start()
    yield service
    service.stop()


def test_a_frozen_redis_is_announced_within_seconds_and_the_stream_recovers(
    frozen_redis: tuple[subprocess.Popen[bytes], str], service_on_it: ServerThread
) -> None:
    process, _ = frozen_redis
    service, settings = service_on_it, service_on_it.settings
    assert settings is not None
    logs = Collect()
    watched = [logging.getLogger(name) for name in (None, "uvicorn", "uvicorn.error")]
    for logger in watched:
        logger.addHandler(logs)
    watcher = Watcher(service.url)
    reader = threading.Thread(target=watcher.run, daemon=True)
    try:
        reader.start()
        watcher.wait_for(0, lambda e, d: e == "status" and d["ok"], 10)
        watcher.wait_for(0, lambda e, d: e == "board", 10)

        frozen_at = time.monotonic()
        os.kill(process.pid, signal.SIGSTOP)
        said_at, said = watcher.wait_for(
            frozen_at, lambda e, d: e == "status" and not d["ok"], SAYS_SO_WITHIN
        )
        assert "out of reach" in said["message"]
        assert said_at - frozen_at < SAYS_SO_WITHIN

        thawed_at = time.monotonic()
        os.kill(process.pid, signal.SIGCONT)
        watcher.wait_for(thawed_at, lambda e, d: e == "status" and d["ok"], 20)

        # The same connection goes on: a call that starts now reaches the board.
        conference = Conference("after-the-stall")
        with service.client() as http:
            answer = post_signed(http, settings, "/twilio/conference-events",
                                 conference.event("participant-join", sid("CA"),
                                                  ParticipantLabel="customer"))  # fmt: skip
        assert answer.status_code == 204, answer.text
        watcher.wait_for(thawed_at, lambda e, d: e == "board" and conference.sid in d["rows"], 10)
        assert reader.is_alive()
    finally:
        os.kill(process.pid, signal.SIGCONT)
        watcher.stop.set()
        for logger in watched:
            logger.removeHandler(logs)
    tracebacks = [f"{r.name}: {r.getMessage()}" for r in logs.records if r.exc_info]
    assert tracebacks == []
    said = [r.getMessage() for r in logs.records if r.name == "earpiece.board"]
    assert any("out of reach" in m for m in said), said


def test_a_slow_refresh_setting_is_not_taken_for_a_stall(
    frozen_redis: tuple[subprocess.Popen[bytes], str], namespace: str
) -> None:
    """The watchdog counts from when a pass is due: with a board refreshed every 4 s (an
    operator's EARPIECE_DASHBOARD_REFRESH_SECONDS) and Redis answering, it never says
    the floor is out of reach."""
    from earpiece.service import create_app

    _, url = frozen_redis
    port = ServerThread.free_port()
    settings = make_settings(url, namespace, f"http://127.0.0.1:{port}",
                             EARPIECE_DASHBOARD_REFRESH_SECONDS="4",
                             TWILIO_API_BASE_URL="http://127.0.0.1:9")  # fmt: skip
    service = ServerThread(create_app(settings, RedisTarget(url, False, None)), port, settings)
    service.start()
    watcher = Watcher(service.url)
    threading.Thread(target=watcher.run, daemon=True).start()
    try:
        started = time.monotonic()
        watcher.wait_for(0, lambda e, d: e == "board", 10)
        # Two slow periods with a change in between (a pass then waits the full period).
        conference = Conference("slow-board")
        with service.client() as http:
            answer = post_signed(http, settings, "/twilio/conference-events",
                                 conference.event("participant-join", sid("CA"),
                                                  ParticipantLabel="customer"))  # fmt: skip
        assert answer.status_code == 204, answer.text
        watcher.wait_for(started, lambda e, d: e == "board" and conference.sid in d["rows"], 10)
        time.sleep(max(0.0, started + 9 - time.monotonic()))
        said = [d for _, e, d in watcher.events if e == "status"]
        assert said and all(d["ok"] for d in said), said
    finally:
        watcher.stop.set()
        service.stop()


# -- the page -----------------------------------------------------------------------------

BOARD_JS = Path(__file__).resolve().parents[2] / "dashboard" / "board_component" / "board.js"
# The component as Streamlit mounts it (a v2 component is an ES module whose default export
# gets {data, setTriggerValue, parentElement}), on a page of its own: the test is about
# what the board does with the stream, not about Streamlit.
PAGE = """<!doctype html><meta charset="utf-8"><div id="root"></div>
<script type="module">
import mount from "/board.js";
const params = new URLSearchParams(location.search);
window.asked = [];  // what the board asked Streamlit: [name, value, when (ms)]
const data = {url: params.get("stream"), ticket: "t", selected: null, help_key: "",
              me_key: params.get("me_key") || "",
              silent_after_ms: Number(params.get("silent_after_ms") || 0)};
// A Streamlit redraw: the component mounted again with what the page now says.
const ask = (name, value) => window.asked.push([name, value, performance.now()]);
window.redraw = (me_key) => mount({data: {...data, me_key}, setTriggerValue: ask,
                                   parentElement: document.getElementById("root")});
window.redraw(data.me_key);
</script>"""


def page_app(*routes: Any) -> Any:
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route

    async def page(request: Any) -> Response:
        return HTMLResponse(PAGE)

    async def script(request: Any) -> Response:
        return Response(BOARD_JS.read_text("utf-8"), media_type="text/javascript")

    return Starlette(routes=[Route("/", page), Route("/board.js", script), *routes])


@contextlib.contextmanager
def board_page(*routes: Any) -> Iterator[tuple[Any, str]]:
    """A chromium page, and the URL of a server of the board's page (with `routes` beside)."""
    from tests.browser import chromium

    pages = ServerThread(page_app(*routes), ServerThread.free_port(), None)
    pages.start()
    try:
        with chromium() as browser:
            yield browser.new_page(), pages.url
    finally:
        pages.stop()


def sse(event: str, data: Any) -> str:
    """One server-sent event as the service writes it."""
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def empty_board(at_ms: int) -> dict[str, Any]:
    """A `board` event of a floor with no call (CONTRACT.md's shape), at `at_ms`."""
    kpis = {"live": 0, "waiting": 0, "on_hold": 0, "monitored": 0, "oldest_call_ms": None,
            "oldest_wait_ms": None}  # fmt: skip
    return {"v": 1, "base": None, "at": at_ms, "rows": {}, "order": [], "live": 0,
            "matched": 0, "help": [], "kpis": kpis}  # fmt: skip


def test_a_stream_that_says_nothing_greys_the_board_until_it_speaks_again() -> None:
    """A board stream left open but silent (a proxy holding events back, a service that
    stopped passing) is not a live floor: past `silent_after_ms` the page greys the board,
    stops its clocks and says so; the next `unchanged` makes it live again."""
    import asyncio

    from playwright.sync_api import expect
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    from tests.browser import artifact

    speak = threading.Event()
    now_ms = int(time.time() * 1000)
    first = empty_board(now_ms)

    async def events(request: Any) -> Response:
        async def said() -> Any:
            yield sse("board", first)
            await asyncio.to_thread(speak.wait)  # open, and silent until the test says
            unchanged = {"v": 1, "at": int(time.time() * 1000)}
            while True:
                yield sse("unchanged", unchanged)
                await asyncio.sleep(0.5)

        return StreamingResponse(said(), media_type="text/event-stream")

    with board_page(Route("/events", events)) as (page, base):
        try:
            page.goto(base + "/?" + urlencode({"stream": base + "/events",
                                               "silent_after_ms": "1500"}))  # fmt: skip
            board, status = page.locator(".ep-board"), page.locator(".ep-status")
            expect(board).to_have_attribute("data-version", "1")
            expect(status).to_contain_text("No news from the live floor", timeout=10_000)
            expect(board).to_have_attribute("data-stale", "true")
            page.screenshot(path=str(artifact("board-silent-stream.png")))
            speak.set()
            expect(status).to_be_hidden(timeout=10_000)
            expect(board).to_have_attribute("data-stale", "false")
        finally:
            speak.set()  # the stream's wait ends before its server stops


def test_the_page_says_the_floor_is_out_of_reach_and_stops_its_clocks(
    frozen_redis: tuple[subprocess.Popen[bytes], str], service_on_it: ServerThread
) -> None:
    from playwright.sync_api import expect

    from tests.browser import artifact

    process, _ = frozen_redis
    service, settings = service_on_it, service_on_it.settings
    assert settings is not None
    conference = Conference("a-live-call")
    with service.client() as http:
        answer = post_signed(http, settings, "/twilio/conference-events",
                             conference.event("participant-join", sid("CA"),
                                              ParticipantLabel="customer"))  # fmt: skip
        assert answer.status_code == 204, answer.text
    with service.client(API_TOKEN) as http:
        ticket = http.post("/api/events/ticket?stream=board").json()["ticket"]
    stream = f"{service.url}/events/board?ticket={ticket}"
    with board_page() as (page, base):
        try:
            page.goto(base + "/?" + urlencode({"stream": stream}))
            board = page.locator(".ep-board")
            longest = page.locator(".ep-tile .ep-value").nth(4)  # "Longest call", ticking
            expect(page.locator(f"tr[data-sid='{conference.sid}']")).to_be_visible()
            expect(board).to_have_attribute("data-stale", "false")

            os.kill(process.pid, signal.SIGSTOP)
            status = page.locator(".ep-status")
            expect(status).to_contain_text("out of reach", timeout=SAYS_SO_WITHIN * 1000)
            expect(board).to_have_attribute("data-stale", "true")
            page.screenshot(path=str(artifact("board-out-of-reach.png")))
            frozen = longest.text_content()
            time.sleep(2.2)  # two ticks of the page's clock
            assert longest.text_content() == frozen, "a floor out of reach must not tick"

            os.kill(process.pid, signal.SIGCONT)
            expect(status).to_be_hidden(timeout=20_000)
            expect(board).to_have_attribute("data-stale", "false")
            ticking = longest.text_content()
            expect(longest).not_to_have_text(ticking or "")  # live again: the clock moves
        finally:
            os.kill(process.pid, signal.SIGCONT)


def test_a_redraw_the_page_did_not_catch_up_with_is_asked_for_again() -> None:
    """The stream says the supervisor's leg is connected; the page (Streamlit's last draw,
    `me_key`) still says ringing. The board asks for a redraw, and when none comes that
    agrees it asks again a few seconds later instead of leaving "your phone is ringing" up
    (a redraw that read an older floor did, on a loaded machine)."""
    import asyncio

    from playwright.sync_api import expect
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    now_ms = int(time.time() * 1000)
    first = empty_board(now_ms)
    me = {"sid": "CF1", "mode": "listen", "status": "connected"}

    async def events(request: Any) -> Response:
        async def said() -> Any:
            yield sse("board", first)
            yield sse("me", me)
            while True:
                await asyncio.sleep(0.5)
                yield sse("unchanged", {"v": 1, "at": now_ms})

        return StreamingResponse(said(), media_type="text/event-stream")

    with board_page(Route("/events", events)) as (page, base):
        page.goto(base + "/?" + urlencode({"stream": base + "/events",
                                           "me_key": "CF1|listen|dialing"}))  # fmt: skip
        asks = "() => window.asked.filter(([, v]) => v.reason === 'me').length"
        expect(page.locator(".ep-board")).to_have_attribute("data-version", "1")
        page.wait_for_function(f"({asks})() >= 2", timeout=15_000)
        # Once, then again a few seconds later: not on every tick (the page's own clock says
        # when each ask was made, however late this test looked).
        times = page.evaluate("() => window.asked.filter(([, v]) => v.reason === 'me')"
                              ".map(([, , at]) => at)")  # fmt: skip
        assert len(times) >= 2 and times[1] - times[0] > 1500, times
        # A redraw that agrees settles it; the same disagreement later (the supervisor
        # joins the same call again) is asked for at once, not counted against the first.
        page.evaluate("() => window.redraw('CF1|listen|connected')")
        assert page.evaluate(asks) == 2
        again = f"() => {{ window.redraw('CF1|listen|dialing'); return ({asks})(); }}"
        assert page.evaluate(again) == 3
