"""Running the floor in Debian's chromium (issue 27): the Agents page's cards and controls against
the simulator's TaskRouter Workspace, the floor's live chart and the Day page's charts, with any
console error (Vega's included) failing the test, as an empty chart does."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright

from core.redis_client import RedisTarget
from core.settings import load
from tests.browser import CHROMIUM_ARGS, artifact, chromium_path, settled
from tests.coach.test_floor_controls import Floor, _floor, _on_call
from tests.conftest import dashboard_env, signin_code
from tests.helpers import clear_of_midnight
from tests.scenarios.test_dashboard_scale_out import FIRST_LOAD_MS, UI_TIMEOUT_MS, dashboard_process


@pytest.fixture
def stuck_floor(redis_target: RedisTarget, namespace: str) -> Iterator[Floor]:
    # A caller waiting 2 s is a long wait here: the wallboard has a red tile to explain.
    yield from _floor(redis_target, namespace, wrapup=3600, EARPIECE_QUEUE_WAIT_ALERT_SECONDS="2")


def watch_console(page: Page) -> list[str]:
    """Every console error and uncaught exception of the page, as text."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{message.text} ({message.location.get('url', '')})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    return errors


def choose_agent(page: Page, agent: str) -> None:
    """Choose `agent` under "Run an agent", then wait for the controls' run to be drawn: the
    controls below are that agent's widgets (their keys name the agent), and a click before
    they land goes to the last agent's, which the run then takes away (the Activity list
    closed before "Break" could be chosen, in a run of the README's tests)."""
    page.get_by_role("combobox", name="Agent").click()
    page.get_by_role("option", name=re.compile(rf"\({agent}\)")).click()
    settled(page)


def test_run_an_agent_from_the_agents_page_and_the_chart_draws_without_errors(
    stuck_floor: Floor,
) -> None:
    f = stuck_floor
    assert f.service.settings is not None
    # The Day page below shows the call's day: no midnight in Tokyo while the test runs.
    day = clear_of_midnight("Asia/Tokyo", 120)
    call = _on_call(f)
    env = dashboard_env(f.service.settings, TWILIO_WORKSPACE_SID=f.workspace.sid,
                        EARPIECE_TIMEZONE="Asia/Tokyo")  # fmt: skip

    def link(who: str) -> str:
        return f"?signin={signin_code(load(env, env_file=None), who)}"

    with dashboard_process(env) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1400})
        page.set_default_timeout(UI_TIMEOUT_MS)
        errors = watch_console(page)

        # The floor's live chart: drawn (marks in its SVG or canvas), and no console error.
        page.goto(f"{url}/{link('ana')}")
        expect(page.get_by_text("Live calls, last hour, by team")).to_be_visible(
            timeout=FIRST_LOAD_MS
        )
        chart = page.locator(".vega-embed").first
        expect(chart).to_be_visible()
        page.wait_for_timeout(3000)  # a redraw or two
        drawn = chart.locator("path, canvas")
        assert drawn.count() > 0, "the chart is empty"
        page.screenshot(path=artifact("floor-chart.png"), full_page=True)
        assert errors == [], errors

        # The Day page: bob's call's queue in three charts, sales-east's occupancy and agents
        # by activity per half hour (carol's time Available before she went Offline, bob's
        # call under way), agents now: six charts drawn, and no console error.
        page.get_by_role("link", name="Day").click()
        expect(page.get_by_text(f"Half hours of {day} in Asia/Tokyo")).to_be_visible(
            timeout=FIRST_LOAD_MS
        )
        expect(page.locator(".vega-embed")).to_have_count(6)
        expect(page.get_by_text("Occupancy = time talking and wrapping up")).to_be_visible()
        page.wait_for_timeout(1500)
        for index in range(6):
            assert page.locator(".vega-embed").nth(index).locator("path, canvas").count() > 0
        page.screenshot(path=artifact("day.png"), full_page=True)
        assert errors == [], errors

        # ana leads sales-east: bob and carol are hers, nick (support) is not shown.
        # Through the page's own navigation (a deep link's first load asks Streamlit's
        # health path under /agents/ and logs a 404 before it finds the root: Streamlit's).
        page.get_by_role("link", name="Agents").click()
        cards = page.locator(".ep-card")
        expect(cards.first).to_be_visible(timeout=FIRST_LOAD_MS)
        bob = page.locator(".ep-card[data-agent=bob]")
        expect(bob).to_contain_text("on a call")
        expect(page.locator(".ep-card[data-agent=carol]")).to_contain_text("Offline")
        expect(page.locator(".ep-card[data-agent=nick]")).to_have_count(0)
        # Her team's agents with no Worker are named, not silently missing (a trial counted
        # three agents on her team and found one card); nick (support) is not hers.
        missing = page.get_by_text(re.compile(r"^Not TaskRouter workers, so without a card"))
        expect(missing).to_contain_text("dave")
        expect(missing).to_contain_text("grace")
        expect(missing).not_to_contain_text("bob")
        expect(missing).not_to_contain_text("nick")

        # Break after this call, with a reason in Japanese: on bob's card until it happens.
        choose_agent(page, "bob")
        page.get_by_role("combobox", name="Activity").click()
        page.get_by_role("option", name="Break").click()
        page.get_by_text("after this call").click()
        page.get_by_role("textbox", name="Reason").fill("面談 (1on1)")
        page.get_by_role("button", name="Set").click()
        expect(page.get_by_text("Break after this call and wrap-up")).to_be_visible()
        expect(bob).to_contain_text("after this call: Break (by ana) — 面談 (1on1)")
        assert f.worker("bob").activity.name == "Available"
        page.screenshot(path=artifact("agents-pending.png"), full_page=True)
        # The Queues page's agent row says it too.
        page.get_by_role("link", name="Queues").click()
        expect(page.locator("tr[data-agent=bob]")).to_contain_text(
            "→ Break after this call (面談 (1on1))"
        )
        page.get_by_role("link", name="Agents").click()
        expect(bob).to_contain_text("after this call: Break")

        # The caller hangs up; the wrap-up never ends by itself: complete it from the row.
        with f.control() as http:
            http.post(f"/sim/tasks/{call['task_sid']}/actions", json={"action": "hangup"})
        expect(bob).to_contain_text("wrap-up")
        # Back from the Queues page the Agent choice may have gone back to the first agent
        # (longest in state: carol; one run in two on a loaded machine): choose bob again.
        choose_agent(page, "bob")
        # The controls under the cards are redrawn every 5 s (the cards themselves at once):
        # on a loaded machine that can take a few runs of it (a CI run missed it in 15 s).
        complete = page.get_by_role("button", name=re.compile("Complete .*wrap-up")).first
        expect(complete).to_be_visible(timeout=45_000)
        complete.click()
        expect(page.get_by_text("task is completed")).to_be_visible()
        f.wait(lambda: f.worker("bob").activity.name == "Break")
        expect(bob).to_contain_text("Break")
        expect(bob).not_to_contain_text("after this call")
        page.screenshot(path=artifact("agents-done.png"), full_page=True)

        # End carol's call: the confirmation names her and the customer.
        with f.control() as http:
            http.post("/sim/workers/carol/activity", json={"activity": "Available"})
            second = http.post("/sim/calls", json={"queue": "sales"}).json()
        f.wait(lambda: f.agents()["carol"]["phase"] == "assigned")
        carol = page.locator(".ep-card[data-agent=carol]")
        expect(carol).to_contain_text("on a call")
        # mina listens in and forgets her leg: ana removes it from the call.
        sid = f.agents()["carol"]["conference_sid"]
        with f.as_("mina") as http:
            assert http.post(f"/api/conferences/{sid}/monitors",
                             json={"mode": "listen"}).status_code == 201  # fmt: skip

        def monitors() -> list[dict[str, Any]]:
            with f.as_("mina") as http:
                return list(http.get(f"/api/conferences/{sid}").json()["monitors"])

        f.wait(lambda: any(m.get("call_sid") for m in monitors()))
        choose_agent(page, "carol")
        page.get_by_text("Remove one leg").click()
        page.get_by_role("button", name="Remove supervisor mina").click()
        # The controls are a fragment redrawn every 5 s: under CI load a click that lands
        # while it is redrawn is dropped by Streamlit (twice in CI runs: nothing audited,
        # the leg still there). Such a click is clicked again, once; a removal that reached
        # the API and failed still fails below.
        for _ in range(50):
            if f.audit("remove-leg") or not any(m.get("call_sid") for m in monitors()):
                break
            time.sleep(0.2)
        else:
            page.get_by_role("button", name="Remove supervisor mina").click()
        # (the API asks Twilio, then the page's next run says it: 45 s, as the waits above)
        try:
            expect(page.get_by_text("supervisor mina removed from the call")).to_be_visible(
                timeout=45_000
            )
        except AssertionError as exc:
            # Once in a CI run of three workers the message never came (passed alone and
            # under CPU load every time since): say whether the click reached the API at
            # all (a dropped click) or the removal failed, for whoever meets it next.
            page.screenshot(path=artifact("agents-remove-missing.png"), full_page=True)
            raise AssertionError(
                f"{exc}\nremove-leg audited for: "
                f"{[e['supervisor'] for e in f.audit('remove-leg')]}; "
                f"monitors on the call now: {monitors()}"
            ) from None
        f.wait(lambda: not monitors())
        assert [e["supervisor"] for e in f.audit("remove-leg")] == ["ana"]
        page.get_by_role("button", name="End this call…").click()
        confirm = page.get_by_role("button", name=re.compile(r"^End carol's call with "))
        expect(confirm).to_be_visible()
        expect(page.get_by_text(re.compile(r"End the call of carol with \S+"))).to_be_visible()
        confirm.click()
        expect(page.get_by_text("carol's call is ending")).to_be_visible()
        conference = f.engine.live_conference_named(second["task_sid"])
        f.wait(lambda: conference is None or conference.status == "completed")
        assert [e["supervisor"] for e in f.audit("end-call")] == ["ana"]
        with f.control() as http:
            http.post("/sim/workers/carol/activity", json={"activity": "Offline"})
        page.screenshot(path=artifact("agents-ended.png"), full_page=True)

        # The wallboard on a 1920x1080 TV: chosen queues only, dark, the floor's totals and
        # a clock, the target on each tile and the reason a tile is red written on it.
        with f.control() as http:
            http.post("/sim/calls", json={"queue": "support"})  # nick is offline: it waits
            http.post("/sim/calls", json={"queue": "sales"})  # carol is offline: it waits
        tv = browser.new_page(viewport={"width": 1920, "height": 1080})
        tv.set_default_timeout(UI_TIMEOUT_MS)
        tv.goto(f"{url}/wallboard{link('mina')}&queues=sales&theme=dark")
        sales = tv.locator(".ep-qtile[data-queue=sales]")
        expect(sales).to_be_visible(timeout=FIRST_LOAD_MS)
        expect(tv.locator(".ep-qtile[data-queue=support]")).to_have_count(0)
        expect(sales.locator("[data-figure=target]")).to_have_text("target 80%")
        expect(sales.locator("[data-figure=why]")).to_contain_text("waited too long")
        expect(sales).to_have_class(re.compile("ep-bad"))
        expect(tv.locator("[data-total=waiting]")).to_have_text("1")
        expect(tv.locator(".ep-wclock")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
        expect(tv.locator(".ep-dark")).to_have_count(1)
        assert tv.locator('section[data-testid="stSidebar"]').is_hidden()
        box = tv.locator(".ep-wall").bounding_box()
        assert box is not None and box["width"] > 1800 and box["height"] > 900, box
        tv.screenshot(path=artifact("wallboard-1920x1080.png"))
        browser.close()
    assert errors == [], errors
    assert f.workspace.tasks[call["task_sid"]].status == "completed"
    entries: list[dict[str, Any]] = f.audit("complete-task")
    assert [e["supervisor"] for e in entries] == ["ana"]
