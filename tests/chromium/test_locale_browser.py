"""Issue 25 in Debian's chromium: a Tokyo floor seen from a browser set to New York. The
board's footer and the wallboard tell the floor's time, Japanese names draw in a CJK font
(fonts-noto-cjk), rows and the Agents view show the roster's names, sorted by reading,
and customers' numbers read the Japanese way. Screenshots land in test-artifacts/."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from core.redis_client import RedisTarget
from core.settings import load
from tests.browser import CHROMIUM_ARGS, artifact, chromium_path
from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    dashboard_env,
    make_settings,
    signin_code,
)
from tests.helpers import ServerThread, stop_all
from tests.scenarios.test_dashboard_scale_out import FIRST_LOAD_MS, UI_TIMEOUT_MS, dashboard_process
from tests.scenarios.test_taskrouter_floor import TaskRouterFloor

# The demo roster names billing's tara 田中 愛 (たなか) and uma 鈴木 一郎 (すずき); bob has none.
# A TaskQueue may be named in Japanese too: the wallboard draws its name.
WORKERS = {"tara": ("billing",), "uma": ("billing", "お問い合わせ"), "bob": ("sales",)}


@pytest.fixture
def tokyo_tr(redis_target: RedisTarget, namespace: str) -> Iterator[TaskRouterFloor]:
    from earpiece.service import create_app
    from twilio_sim.app import create_app as create_sim
    from twilio_sim.config import Endpoint, SimConfig
    from twilio_sim.taskrouter.workspace import WorkspaceConfig

    port, sim_port = ServerThread.free_port(), ServerThread.free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(redis_target.url, namespace, base,
                             TWILIO_API_BASE_URL=f"http://127.0.0.1:{sim_port}",
                             EARPIECE_TIMEZONE="Asia/Tokyo")  # fmt: skip
    service = ServerThread(create_app(settings, redis_target), port, settings)
    service.start()
    config = SimConfig(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                       callback_url=base + "/twilio/conference-events",
                       default_endpoint=Endpoint("answer", 0.05), seed=11)  # fmt: skip
    workspace = WorkspaceConfig(base + "/twilio/taskrouter-events", accept_seconds=0.05,
                                wrapup_seconds=0.2)  # fmt: skip
    sim = ServerThread(create_sim(config, workspace=workspace, workers=WORKERS), sim_port, None)
    sim.start()
    yield TaskRouterFloor(service, sim)
    stop_all(sim, service)


def new_york_page(browser: object) -> Page:
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1500, "height": 1000}, timezone_id="America/New_York", locale="en-US"
    )
    page: Page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    return page


def test_japanese_names_and_the_floor_clock_in_a_browser_elsewhere(
    tokyo_tr: TaskRouterFloor,
) -> None:
    f = tokyo_tr
    assert f.service.settings is not None
    env = dashboard_env(f.service.settings, EARPIECE_TIMEZONE="Asia/Tokyo")

    def link() -> str:
        return f"?signin={signin_code(load(env, env_file=None), 'mina')}"

    with f.control() as http:
        http.post("/sim/calls", json={"agent": "tara", "customer": "+81312345678"})
        http.post("/sim/calls", json={"queue": "sales"})  # a caller TaskRouter routes to bob
    with dashboard_process(env) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = new_york_page(browser)
        page.goto(f"{url}/{link()}")
        row = page.locator("tr[data-sid]", has_text="03-••••-5678")
        expect(row).to_be_visible(timeout=FIRST_LOAD_MS)
        expect(row).to_contain_text("田中 愛 (tara)")
        # Tokyo's clock, though this browser is in New York: Intl's short name is GMT+9.
        expect(page.get_by_text(re.compile(r"updated \d\d:\d\d:\d\d GMT\+9$"))).to_be_visible()
        # The name is drawn in a CJK font, not as boxes: a kanji is a full-width glyph, one em
        # wide, where a missing glyph is drawn as the font's narrower "no glyph" box.
        em, kanji, missing = row.locator("td").first.evaluate(
            "td => { const c = document.createElement('canvas').getContext('2d');"
            " const style = getComputedStyle(td);"
            " c.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;"
            " return [parseFloat(style.fontSize), c.measureText('田').width,"
            " c.measureText('\\u{E000}').width]; }"
        )
        assert abs(kanji - em) < 0.05 * em and kanji != missing, (em, kanji, missing)
        page.screenshot(path=artifact("locale-floor.png"), full_page=True)

        queues = new_york_page(browser)
        queues.goto(f"{url}/queues{link()}")
        expect(queues.get_by_role("heading", name="Agents", exact=True)).to_be_visible(
            timeout=FIRST_LOAD_MS
        )
        agents = queues.locator("tr[data-agent]")
        expect(agents).to_have_count(3)
        # Same attention: bob (Latin), then by reading: すずき before たなか.
        names = [t.split("\t")[0] for t in agents.all_inner_texts()]
        assert [n.strip() for n in names] == ["bob", "鈴木 一郎 (uma)", "田中 愛 (tara)"], names
        queues.screenshot(path=artifact("locale-queues.png"), full_page=True)

        wall = new_york_page(browser)
        wall.goto(f"{url}/wallboard{link()}")
        expect(wall.locator(".ep-qtile[data-queue=sales]")).to_be_visible(timeout=FIRST_LOAD_MS)
        with f.control() as http:  # a caller for the Japanese-named queue (uma answers)
            http.post("/sim/calls", json={"queue": "お問い合わせ"})
        tile = wall.locator('.ep-qtile[data-queue="お問い合わせ"]')
        expect(tile).to_contain_text("お問い合わせ")
        measure = (
            "t => { const n = t.querySelector('.ep-qname') || t;"
            " const c = document.createElement('canvas').getContext('2d'); const s ="
            " getComputedStyle(n); c.font = `${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;"
            " return [parseFloat(s.fontSize), c.measureText('問').width,"
            " c.measureText('\\u{E000}').width]; }"
        )
        # The wallboard redraws its tiles as the floor moves: a tile found, then measured,
        # may have been replaced in between (a detached element has no computed style, and
        # its font size reads NaN). Measured again, the tile that is there now.
        for _ in range(50):
            width = tile.evaluate(measure)
            if not math.isnan(width[0]):
                break
            time.sleep(0.1)
        assert abs(width[1] - width[0]) < 0.05 * width[0] and width[1] != width[2], width
        expect(wall.get_by_text(re.compile(r"updated \d\d:\d\d:\d\d GMT\+9$"))).to_be_visible()
        wall.screenshot(path=artifact("locale-wallboard.png"), full_page=True)
        browser.close()
