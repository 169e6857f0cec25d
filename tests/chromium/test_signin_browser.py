"""Sign-in's address in Debian's chromium (issue 22): a forged X-Forwarded-For is ignored, and
the audit records the connection's real address; the same header from a proxy named in
EARPIECE_TRUSTED_PROXIES is believed (which shows the header did reach the server)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from core.passwords import hash_password
from tests.chromium.test_sessions_browser import browser, env_of  # noqa: F401 (the fixture)
from tests.conftest import Wired
from tests.scenarios.test_dashboard_scale_out import FIRST_LOAD_MS, UI_TIMEOUT_MS, dashboard_process

FORGED = "203.0.113.9"


def last_signin(wired: Wired) -> str:
    with wired.api("mina") as http:  # a manager reads the whole audit
        entries = http.get("/api/audit", params={"supervisor": "zoe"}).json()["entries"]
    return next(str(e["detail"]) for e in entries if e["action"] == "signin")


def sign_in_as_zoe(browser: Browser, url: str) -> None:  # noqa: F811
    context = browser.new_context(extra_http_headers={"X-Forwarded-For": FORGED})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.goto(url)
    page.get_by_label("Supervisor ID").fill("zoe")
    page.get_by_role("textbox", name="Password").fill("ゾーイの正しいパスワード")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("Zoe · manager")).to_be_visible(timeout=FIRST_LOAD_MS)
    context.close()


def test_a_forged_x_forwarded_for_is_not_the_address_signed_in_from(
    wired: Wired,
    browser: Browser,  # noqa: F811
    tmp_path: Path,
) -> None:
    roster = tmp_path / "roster.toml"
    roster.write_text(
        '[teams.support]\nqueue = "support"\nagents = ["bob"]\n'
        '[supervisors.zoe]\nname = "Zoe"\nrole = "manager"\n'
        f'password_hash = "{hash_password("ゾーイの正しいパスワード")}"\n',
        encoding="utf-8",
    )
    env = {**env_of(wired), "EARPIECE_ROSTER": str(roster)}
    with dashboard_process(env) as url:
        sign_in_as_zoe(browser, url)
    assert last_signin(wired) == "password, from 127.0.0.1"
    with dashboard_process({**env, "EARPIECE_TRUSTED_PROXIES": "127.0.0.1"}) as url:
        sign_in_as_zoe(browser, url)
    assert last_signin(wired) == f"password, from {FORGED}"
