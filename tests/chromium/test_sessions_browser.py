"""Sessions and hostile text as a supervisor meets them, in Debian's chromium: a sign-in
link leaves nothing in the address bar, a reload stays signed in, signing out in one
browser ends the session in another, and a card written as Markdown (an image, a link,
a red banner) is shown as text, fetches nothing and links nowhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from core.settings import Settings, load
from tests.browser import artifact, chromium
from tests.conftest import Wired, dashboard_env, signin_code
from tests.scenarios.test_dashboard_scale_out import FIRST_LOAD_MS, UI_TIMEOUT_MS, dashboard_process

# An agent label someone could set (Twilio refuses a "/" in a label): shown in the call
# page's title and the floor's Markdown lines.
HOSTILE_AGENT = "bob**x**:red[LIVE]www.evil.example![i](x)"
HOSTILE_CARD = ("![pixel](http://evil.example/track.png) [Sign in again](http://evil.example/login)"
                " :red[Your microphone is live]")  # fmt: skip


def env_of(wired: Wired) -> dict[str, str]:
    assert wired.service.settings is not None
    return dashboard_env(wired.service.settings)


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def signed_in_page(browser: Browser, url: str, settings: Settings, who: str) -> Page:
    page = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.goto(f"{url}/?signin={signin_code(settings, who)}")
    expect(page.get_by_text("Live calls", exact=True)).to_be_visible(timeout=FIRST_LOAD_MS)
    return page


def session_cookie(page: Page) -> dict[str, Any]:
    """The session cookie, once the page had the server set it (a moment after sign-in)."""
    for _ in range(100):
        found = [c for c in page.context.cookies() if c["name"] == "earpiece_session"]
        if found:
            return dict(found[0])
        page.wait_for_timeout(100)
    raise AssertionError("the server never set the session cookie")


def test_sign_out_in_one_browser_ends_the_session_in_another(
    wired: Wired, browser: Browser
) -> None:
    env = env_of(wired)
    settings = load(env, env_file=None)
    wired.new_call("bob")
    with dashboard_process(env) as url:
        first = signed_in_page(browser, url, settings, "mina")
        second = signed_in_page(browser, url, settings, "mina")
        # Nothing that signs anyone in is left in the address bar.
        expect(first).to_have_url(re.compile(r"^[^?]*$"))
        assert "signin" not in first.url and "session" not in first.url
        cookie = session_cookie(first)
        # Set by the server, HttpOnly: no script on the page can read the token.
        assert cookie["sameSite"] == "Strict" and cookie["httpOnly"] is True
        assert cookie["secure"] is False  # plain HTTP here (Secure over HTTPS: test_signin)
        assert "earpiece_session" not in first.evaluate("document.cookie")
        assert cookie["value"] not in first.content()
        # A reload stays signed in (the session cookie), with no link.
        first.reload()
        expect(first.get_by_text("Live calls", exact=True)).to_be_visible(timeout=FIRST_LOAD_MS)

        first.get_by_role("button", name="Sign out").click()
        expect(first.get_by_text("Supervisor ID")).to_be_visible()
        # The other browser's session ended too: its page goes back to sign-in by itself.
        expect(second.get_by_text("Supervisor ID")).to_be_visible(timeout=20_000)
        second.screenshot(path=artifact("signed-out-elsewhere.png"), full_page=True)
        # And a reload does not bring it back.
        second.reload()
        expect(second.get_by_text("Supervisor ID")).to_be_visible(timeout=FIRST_LOAD_MS)
        expect(second.get_by_text("Live calls", exact=True)).to_have_count(0)


def test_a_markdown_card_is_shown_as_text_and_fetches_nothing(
    wired: Wired, browser: Browser
) -> None:
    env = env_of(wired)
    settings = load(env, env_file=None)
    call = wired.new_call(HOSTILE_AGENT)
    with wired.api("mina") as http:
        sent = http.post(f"/api/calls/{call['agent_call_sid']}/cards", json={"text": HOSTILE_CARD})
        assert sent.status_code == 201, sent.text
    with dashboard_process(env) as url:
        page = signed_in_page(browser, url, settings, "mina")
        outside: list[str] = []
        page.on("request", lambda r: outside.append(r.url) if "evil.example" in r.url else None)
        page.goto(f"{url}/call?sid={call['conference_sid']}")
        expect(page.get_by_text("Cards to the agent")).to_be_visible(timeout=FIRST_LOAD_MS)
        # The card as st.text shows it (the call's timeline, a dataframe, says it too: its
        # grid cells' text is in the page once drawn, so the card is looked for in its box).
        shown = page.locator('[data-testid="stText"]').filter(has_text="Sign in again")
        expect(shown).to_be_visible()
        # Literally the card's characters: the Markdown is visible, not rendered.
        expect(shown).to_contain_text(HOSTILE_CARD)
        # The agent's name in the title: its characters, no emphasis, colour or link.
        title = page.locator("h1").first
        expect(title).to_contain_text("LIVE]")
        assert title.inner_text().replace("\u2060", "").startswith(HOSTILE_AGENT)
        marks = title.locator("[data-heading-text]").locator("strong, em, a, img, span")
        assert marks.count() == 0, title.evaluate("e => e.outerHTML")
        assert page.locator('img[src*="evil.example"]').count() == 0
        links = page.locator('a[href*="evil.example"]')
        assert links.count() == 0, [
            links.nth(i).evaluate("e => e.outerHTML") for i in range(links.count())
        ]
        page.screenshot(path=artifact("hostile-card.png"), full_page=True)
        page.wait_for_timeout(500)
    assert outside == []
