"""Single sign-on on the dashboard against a real OpenID Connect provider: panva's
oidc-provider (OpenID Certified, from the npm registry) run by Node.js on this machine,
driven in Debian's chromium through its own sign-in and consent pages. Streamlit's
st.login does the OIDC code flow; Earpiece maps the ID token's email to a roster
supervisor and opens its own server-side session."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.browser import CHROMIUM_ARGS, artifact, chromium_path
from tests.chromium.test_sessions_browser import env_of
from tests.conftest import Wired
from tests.helpers import ServerThread, machine_lock
from tests.scenarios.test_dashboard_scale_out import FIRST_LOAD_MS, UI_TIMEOUT_MS, dashboard_process

HERE = Path(__file__).resolve().parents[1] / "oidc_provider"
CLIENT_ID, CLIENT_SECRET = "earpiece-dashboard", "a-client-secret-for-the-test"


def provider_folder() -> Path:
    """The provider's package installed once per machine (npm registry), beside its script."""
    folder = Path(tempfile.gettempdir()) / "earpiece-oidc-provider-8.8.1"
    with machine_lock("oidc-provider"):  # one install, whichever worker comes first
        if not (folder / "node_modules" / "oidc-provider").is_dir():
            npm = shutil.which("npm")
            assert npm, "the SSO test needs Node.js and npm (Debian: apt-get install nodejs npm)"
            folder.mkdir(exist_ok=True)
            shutil.copy(HERE / "package.json", folder / "package.json")
            subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=folder, check=True, capture_output=True, timeout=300)  # fmt: skip
        shutil.copy(HERE / "provider.mjs", folder / "provider.mjs")
    return folder


@pytest.fixture
def provider() -> Iterator[tuple[str, int]]:
    """(the issuer URL, the dashboard port its client redirects to)."""
    port, dashboard_port = ServerThread.free_port(), ServerThread.free_port()
    redirect = f"http://127.0.0.1:{dashboard_port}/oauth2callback"
    running = subprocess.Popen(
        ["node", "provider.mjs", str(port), CLIENT_ID, CLIENT_SECRET, redirect],
        cwd=provider_folder(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(issuer + "/.well-known/openid-configuration").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert running.poll() is None and time.monotonic() < deadline, "no OIDC provider"
        time.sleep(0.1)
    yield issuer, dashboard_port
    running.terminate()
    running.wait(10)


def sign_in_at_provider(page: Page, login: str) -> None:
    page.get_by_role("button", name="Sign in with single sign-on").click()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("anything")
    page.locator("button[type=submit]").click()
    consent = page.get_by_role("button", name="Continue")
    if consent.count():
        consent.click()


def test_single_sign_on_maps_the_providers_email_to_a_roster_supervisor(
    wired: Wired, provider: tuple[str, int]
) -> None:
    issuer, port = provider
    data_dir = Path(tempfile.mkdtemp(prefix="ep-sso-"))
    env = {**env_of(wired), "EARPIECE_OIDC_ISSUER": issuer, "EARPIECE_OIDC_AUDIENCE": CLIENT_ID,
           "EARPIECE_OIDC_CLIENT_ID": CLIENT_ID, "EARPIECE_OIDC_CLIENT_SECRET": CLIENT_SECRET,
           "EARPIECE_DASHBOARD_URL": f"http://127.0.0.1:{port}",
           "EARPIECE_DATA_DIR": str(data_dir)}  # fmt: skip
    try:
        with dashboard_process(env, port) as url, sync_playwright() as p:
            secrets = data_dir / "dashboard-secrets.toml"
            assert oct(os.stat(secrets).st_mode & 0o777) == "0o600"
            browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.set_default_timeout(UI_TIMEOUT_MS)
            page.goto(url)
            expect(page.get_by_text("Supervisor ID")).to_be_visible(timeout=FIRST_LOAD_MS)
            sign_in_at_provider(page, "ana")
            expect(page.get_by_text("Live calls", exact=True)).to_be_visible(timeout=FIRST_LOAD_MS)
            expect(page.get_by_text("Ana Ito · lead · sales-east")).to_be_visible()
            page.screenshot(path=artifact("sso-signed-in.png"), full_page=True)
            with wired.api("mina") as http:
                entries = http.get("/api/audit", params={"supervisor": "ana"}).json()["entries"]
            # Her newest sign-in (the board she then opened is audited too: words-read).
            signins = [e for e in entries if e["action"] == "signin"]
            assert signins and signins[0]["detail"] == "single sign-on"

            # Signing out ends the session and forgets the provider's identity here.
            page.get_by_role("button", name="Sign out").click()
            # Streamlit's st.logout passes through the provider's end-session page, which
            # asks to confirm (this provider's development page), then comes back.
            confirm = page.get_by_role("button", name=re.compile("sign me out", re.IGNORECASE))
            expect(confirm).to_be_visible(timeout=FIRST_LOAD_MS)
            confirm.click()
            page.wait_for_url(url + "/", timeout=FIRST_LOAD_MS)
            page.screenshot(path=artifact("sso-signed-out.png"), full_page=True)
            expect(page.get_by_label("Supervisor ID")).to_be_visible(timeout=FIRST_LOAD_MS)
            page.reload()
            expect(page.get_by_label("Supervisor ID")).to_be_visible(timeout=FIRST_LOAD_MS)
            expect(page.get_by_text("Live calls", exact=True)).to_have_count(0)

            # Someone the provider knows but the roster does not: refused, with the reason.
            other = browser.new_page(viewport={"width": 1500, "height": 1000})
            other.set_default_timeout(UI_TIMEOUT_MS)
            other.goto(url)
            expect(other.get_by_text("Supervisor ID")).to_be_visible(timeout=FIRST_LOAD_MS)
            sign_in_at_provider(other, "zed")
            expect(other.get_by_text("is not a supervisor on the roster")).to_be_visible(
                timeout=FIRST_LOAD_MS
            )
            expect(other.get_by_text("Live calls", exact=True)).to_have_count(0)
            browser.close()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
