"""The Queues page and the wallboard: in AppTest (what the page hands the browser, and what
that stream says) and in Debian's chromium (a caller entering a queue shows on the
wallboard; Listen from the Agents view joins the supervisor to that agent's call)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse
from playwright.sync_api import expect, sync_playwright
from streamlit.testing.v1 import AppTest

from core.settings import load
from tests.browser import CHROMIUM_ARGS, artifact, chromium_path
from tests.conftest import dashboard_env, signin_code
from tests.scenarios.test_dashboard_scale_out import FIRST_LOAD_MS, UI_TIMEOUT_MS, dashboard_process
from tests.scenarios.test_taskrouter_floor import TaskRouterFloor, tr_floor  # noqa: F401 (fixture)

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def env_for(f: TaskRouterFloor) -> dict[str, str]:
    assert f.service.settings is not None
    return dashboard_env(f.service.settings)


def first_queues(url: str) -> dict[str, Any]:
    with httpx.Client(timeout=10) as http, connect_sse(http, "GET", url) as source:
        assert source.response.status_code == 200
        for event in source.iter_sse():
            if event.event == "queues":
                data: dict[str, Any] = json.loads(event.data)
                return data
    raise AssertionError("no queues event")


def test_the_queues_page_hands_the_browser_the_queues_stream(
    tr_floor: TaskRouterFloor,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = env_for(tr_floor)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with tr_floor.control() as http:
        http.post("/sim/workers/nick/activity", json={"activity": "Break"})
        http.post("/sim/calls", json={"queue": "support"})
    tr_floor.wait(lambda: tr_floor.api("/api/queues")["queues"])
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["signin"] = signin_code(load(env, env_file=None), "mina")
    at.run()
    at.switch_page("views/queues.py").run()
    assert not at.exception
    assert "Queues" in [t.value for t in at.title]
    [data] = [d for d in (json.loads(c.proto.json) for c in at.get("bidi_component")) if "url" in d]
    assert data["mode"] == "queues" and "queues=1" in data["url"] and "board=off" in data["url"]
    queues = {q["name"]: q for q in first_queues(data["url"])["queues"]}
    assert queues["support"]["waiting"] == 1
    assert queues["support"]["agents"] == {"available": 0, "busy": 0, "other": 1}


def test_a_caller_shows_on_the_wallboard_and_listen_joins_an_agents_call(
    tr_floor: TaskRouterFloor,  # noqa: F811
) -> None:
    f = tr_floor
    env = env_for(f)

    def link() -> str:  # a one-time sign-in link for each browser
        return f"?signin={signin_code(load(env, env_file=None), 'mina')}"

    with f.control() as http:
        http.post("/sim/workers/nick/activity", json={"activity": "Break"})
    with dashboard_process(env) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        wall = browser.new_page(viewport={"width": 1600, "height": 900})
        wall.set_default_timeout(UI_TIMEOUT_MS)
        wall.goto(f"{url}/wallboard{link()}")
        expect(wall.get_by_text("No TaskQueue has had a caller yet.")).to_be_visible(
            timeout=FIRST_LOAD_MS
        )
        with f.control() as http:
            http.post("/sim/calls", json={"queue": "support"})
        support = wall.locator(".ep-qtile[data-queue=support]")
        expect(support.locator("[data-figure=waiting]")).to_have_text("1")
        expect(support).to_have_class("ep-qtile")  # waiting, but within every threshold
        assert wall.locator('section[data-testid="stSidebar"]').is_hidden()
        wall.screenshot(path=artifact("wallboard.png"), full_page=True)

        with f.control() as http:
            answered = http.post("/sim/calls", json={"queue": "sales"}).json()
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.set_default_timeout(UI_TIMEOUT_MS)
        page.goto(f"{url}/queues{link()}")
        expect(page.get_by_role("heading", name="Agents", exact=True)).to_be_visible(
            timeout=FIRST_LOAD_MS
        )
        busy = page.locator("tr[data-agent]", has=page.get_by_role("button", name="Listen"))
        expect(busy).to_have_count(1)
        busy.get_by_role("button", name="Listen").click()
        expect(page.get_by_text("Joining to listen")).to_be_visible()
        page.screenshot(path=artifact("queues-page.png"), full_page=True)
        browser.close()

    def mina_on_it() -> bool:
        conferences = f.api("/api/conferences")["conferences"]
        on = [c for c in conferences if c.get("task_sid") == answered["task_sid"]]
        return bool(on) and any(m["supervisor"] == "mina" for m in on[0]["monitors"])

    f.wait(mina_on_it, 10)
