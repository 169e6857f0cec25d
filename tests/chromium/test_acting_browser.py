"""One way to act (issue 24): the dashboard acts only through the callback service's API,
with the signed-in supervisor's own session, and its process holds no Twilio credential.

The dashboard here is started as a Procfile or a container would start it, with the
service's secrets in a shared environment: `earpiece dashboard` drops them before
Streamlit starts (dashboard_process checks the running server's environment), and
Listen, Whisper and Leave still reach Twilio (the simulator's leg) through the API,
audited under the supervisor's name.
"""

from __future__ import annotations

from playwright.sync_api import expect, sync_playwright

from core.settings import load
from tests.browser import CHROMIUM_ARGS, artifact, chromium_path
from tests.conftest import ACCOUNT_SID, API_TOKEN, AUTH_TOKEN, Wired, dashboard_env, signin_code
from tests.scenarios.test_dashboard_scale_out import FIRST_LOAD_MS, UI_TIMEOUT_MS, dashboard_process


def test_listen_whisper_leave_go_through_the_api_from_a_dashboard_without_twilio(
    wired: Wired,
) -> None:
    service = wired.service.settings
    assert service is not None
    env = dashboard_env(service)
    settings = load(env, env_file=None)
    # One environment for both processes, as a Procfile gives: the dashboard drops these.
    shared = {**env, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
              "EARPIECE_API_TOKEN": API_TOKEN}  # fmt: skip
    call = wired.new_call("bob")
    sid = call["conference_sid"]
    with dashboard_process(shared) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.set_default_timeout(UI_TIMEOUT_MS)
        page.goto(f"{url}/?signin={signin_code(settings, 'ana')}")
        expect(page.get_by_text("Live calls", exact=True)).to_be_visible(timeout=FIRST_LOAD_MS)
        page.locator(f'tr[data-sid="{sid}"]').click()

        page.locator("button", has_text="Listen").first.click()
        expect(page.get_by_text("You are listening")).to_be_visible()
        wired.wait(lambda: (wired.monitor(sid, "ana") or {}).get("status") == "connected", 15)
        leg = wired.sim_leg(sid, str((wired.monitor(sid, "ana") or {})["call_sid"]))
        assert leg.muted and not leg.coaching  # Twilio (the simulator) has the listening leg

        page.locator("button", has_text="Whisper").first.click()
        expect(page.get_by_text("Your microphone is live")).to_be_visible()
        wired.wait(lambda: (wired.monitor(sid, "ana") or {}).get("mode") == "whisper", 15)
        assert leg.coaching and not leg.muted
        page.screenshot(path=artifact("acting-whisper.png"), full_page=True)

        page.locator("button", has_text="Leave").first.click()
        wired.wait(lambda: wired.monitor(sid, "ana") is None, 15)
        browser.close()
    with wired.api("mina") as http:
        entries = http.get("/api/audit", params={"conference": sid}).json()["entries"]
    done = [(e["action"], e["supervisor"]) for e in entries]
    assert {("join", "ana"), ("switch", "ana"), ("leave", "ana")} <= set(done), done
