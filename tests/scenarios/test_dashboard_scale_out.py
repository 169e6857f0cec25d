"""Two dashboard processes serve one floor, each to its own browser.

A floor past one core runs several `earpiece dashboard` processes behind a
proxy with sticky sessions (README, "Many supervisors"): Streamlit keeps a
browser's session in the process that holds its WebSocket. Nothing else is
per process: sign-in sessions are signed tokens any process accepts, the
floor is Redis's, and each page's live board comes from the callback
service. Here a supervisor on each process sees the same new call, and what
one does there shows on the other's board.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
from playwright.sync_api import Page, expect, sync_playwright

from core.settings import load
from tests.browser import CHROMIUM_ARGS, artifact, chromium_path, current, environment_of
from tests.conftest import TWILIO_CREDENTIALS, Wired, dashboard_env, signin_code
from tests.helpers import ServerThread

FIRST_LOAD_MS = 60_000
UI_TIMEOUT_MS = 15_000


@contextlib.contextmanager
def dashboard_process(env: dict[str, str], port: int | None = None) -> Iterator[str]:
    port = port or ServerThread.free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(artifact(f"dashboard-{port}.log"), "wb")  # noqa: SIM115 - the child holds it
    process = subprocess.Popen(
        [sys.executable, "-m", "earpiece.cli", "dashboard", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + "/_stcore/health", timeout=1).status_code == 200:
                    break
            assert process.poll() is None and time.monotonic() < deadline, "no dashboard"
            time.sleep(0.1)
        # `earpiece dashboard` became Streamlit's server (exec): the process that serves the
        # pages and acts holds no Twilio credential (issue 24: it acts through the API).
        held = TWILIO_CREDENTIALS & environment_of(process.pid).keys()
        assert not held, f"the dashboard's process holds {sorted(held)}"
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def open_floor(page: Page, url: str, agent: str) -> None:
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.goto(url)
    expect(page.get_by_text("Live calls", exact=True)).to_be_visible(timeout=FIRST_LOAD_MS)
    page.get_by_placeholder("search").fill(agent)
    page.get_by_placeholder("search").press("Enter")


def test_two_dashboard_processes_serve_one_floor(wired: Wired) -> None:
    service = wired.service.settings
    assert service is not None
    env = dashboard_env(service)
    settings = load(env, env_file=None)
    with (
        dashboard_process(env) as first,
        dashboard_process(env) as second,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        mina = browser.new_page(viewport={"width": 1500, "height": 1000})
        ana = browser.new_page(viewport={"width": 1500, "height": 1000})
        open_floor(mina, f"{first}/?signin={signin_code(settings, 'mina')}", "bob")
        open_floor(ana, f"{second}/?signin={signin_code(settings, 'ana')}", "bob")

        call = wired.new_call("bob")
        for page in (mina, ana):
            expect(current(page).get_by_text(re.compile(r"^1 of 1 call shown"))).to_be_visible()

        # A name anyone could have typed is shown as text, never as markup.
        # (no "/": Twilio refuses a label with one)
        hostile = "bob<img src=x onerror=alert(1)><b>!"
        wired.new_call(hostile)
        mina.get_by_placeholder("search").fill("bob<img")
        mina.get_by_placeholder("search").press("Enter")
        expect(mina.locator("td[data-col=agent]").first).to_have_text(hostile)
        assert mina.locator(".ep-table img, .ep-table b").count() == 0
        mina.get_by_placeholder("search").fill("bob")
        mina.get_by_placeholder("search").press("Enter")
        expect(current(mina).get_by_text(re.compile(r"^2 of 2 calls shown"))).to_be_visible()

        # Ana, on the second process, listens; Mina's board on the first shows it.
        ana.locator(f'tr[data-sid="{call["conference_sid"]}"]').click()
        ana.locator("button", has_text="Listen").first.click()
        expect(ana.get_by_text("You are listening")).to_be_visible()
        wired.wait(lambda: (wired.monitor(call["conference_sid"], "ana") or {})
                   .get("status") == "connected")  # fmt: skip
        row = mina.locator(f'tr[data-sid="{call["conference_sid"]}"] td[data-col=monitoring]')
        expect(row).to_have_text("Ana Ito (listen)")
        mina.screenshot(path=artifact("scale-out-first.png"), full_page=True)
        ana.screenshot(path=artifact("scale-out-second.png"), full_page=True)
        browser.close()


def test_a_feed_out_of_reach_says_so_and_backs_off(wired: Wired) -> None:
    service = wired.service.settings
    assert service is not None
    unreachable = f"http://127.0.0.1:{ServerThread.free_port()}"  # nothing listens there
    env = dashboard_env(service, EARPIECE_FEED_URL=unreachable)
    settings = load(env, env_file=None)
    with dashboard_process(env) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.set_default_timeout(UI_TIMEOUT_MS)
        page.goto(f"{url}/?signin={signin_code(settings, 'mina')}")
        host = unreachable.removeprefix("http://")
        expect(page.get_by_text(f"Cannot reach the live floor at {host}")).to_be_visible(
            timeout=FIRST_LOAD_MS
        )
        page.wait_for_timeout(6000)
        page.screenshot(path=artifact("feed-out-of-reach.png"), full_page=True)
        browser.close()
    # Backing off 1, 2, 4 s: a handful of tickets in those seconds, not one per rerun.
    keys = redis_keys(service.redis_url or "", "{" + service.namespace + "}:ticket:*")
    assert 1 <= keys <= 6, keys


def redis_keys(url: str, pattern: str) -> int:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return sum(1 for _ in client.scan_iter(match=pattern, count=1000))
    finally:
        client.close()
