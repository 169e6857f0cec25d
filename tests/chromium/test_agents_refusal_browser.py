"""Twilio refuses an agent's state change made from the Agents page (issue 27 §1), in Debian's
chromium: the page shows Twilio's own message, as text, and nothing changes.

The refusal is one a floor meets: an administrator deletes an Activity in Twilio's Console
while a supervisor's page still offers it (the dashboard reads the Workspace's Activities once
a minute). TaskRouter answers the Worker update 400, error 20001, naming the Activity that is
no more; the supervisor reads that, the agent stays where they were, and the audit keeps the
refused attempt."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect, sync_playwright

from core.redis_client import RedisTarget
from core.settings import load
from core.twilio_client import make_client
from tests.browser import CHROMIUM_ARGS, artifact, chromium_path
from tests.chromium.test_agents_browser import watch_console
from tests.coach.test_floor_controls import Floor, _floor
from tests.conftest import dashboard_env, signin_code
from tests.scenarios.test_dashboard_scale_out import FIRST_LOAD_MS, UI_TIMEOUT_MS, dashboard_process


@pytest.fixture
def floor(redis_target: RedisTarget, namespace: str) -> Iterator[Floor]:
    yield from _floor(redis_target, namespace, wrapup=0.6)


def test_twilios_refusal_of_an_agents_activity_is_shown_as_twilios_message(floor: Floor) -> None:
    f = floor
    settings = f.service.settings
    assert settings is not None
    env = dashboard_env(settings, TWILIO_WORKSPACE_SID=f.workspace.sid,
                        EARPIECE_TIMEZONE="Asia/Tokyo")  # fmt: skip
    code = signin_code(load(env, env_file=None), "ana")
    f.wait(lambda: f.agents().get("bob", {}).get("activity") == "Available")
    with dashboard_process(env) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1400})
        page.set_default_timeout(UI_TIMEOUT_MS)
        errors = watch_console(page)
        page.goto(f"{url}/?signin={code}")
        page.get_by_role("link", name="Agents").click()
        expect(page.locator(".ep-card[data-agent=bob]")).to_be_visible(timeout=FIRST_LOAD_MS)
        page.get_by_role("combobox", name="Agent").click()
        page.get_by_role("option", name=re.compile(r"\(bob\)")).click()
        # The page has read the Workspace's Activities (its Activity list is drawn) ...
        expect(page.get_by_role("combobox", name="Activity")).to_be_visible()

        # ... and then an administrator deletes Break at Twilio (through the twilio SDK).
        workspace = make_client(settings).taskrouter.v1.workspaces(f.workspace.sid)
        [gone] = [a for a in workspace.activities.list() if a.friendly_name == "Break"]
        workspace.activities(gone.sid).delete()
        assert "Break" not in [a.friendly_name for a in workspace.activities.list()]

        page.get_by_role("combobox", name="Activity").click()
        page.get_by_role("option", name="Break").click()
        page.get_by_role("textbox", name="Reason").fill("**lunch** <b>now</b>")
        page.get_by_role("button", name="Set").click()
        said = f"Activity {gone.sid} does not exist in Workspace {f.workspace.sid}"
        alert = page.locator('[data-testid="stAlertContentError"]').filter(has_text=said)
        expect(alert).to_be_visible()
        # As text: Twilio's message whole, nothing of it read as Markdown or HTML.
        assert said in alert.inner_text()
        assert alert.locator("strong, b, em, a, code").count() == 0
        page.screenshot(path=artifact("agents-refused.png"), full_page=True)
        browser.close()
    assert errors == [], errors
    # Nothing changed at Twilio, and the refused attempt is in the audit, Twilio's words in it.
    assert f.worker("bob").activity.name == "Available"
    [entry] = f.audit("agent-activity")
    assert entry["supervisor"] == "ana"
    assert entry["outcome"] == "refused"
    assert said in entry["detail"]
