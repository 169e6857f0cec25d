"""`earpiece demo`'s Japanese team in a real browser (issue 23): a jp-support call is
transcribed in Japanese, its lines show on the call page as said, and its phrase raises the
floor's banner beside the English teams' calls. Screenshots (with a CJK font: Debian's
fonts-noto-cjk) are kept under test-artifacts/."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.browser import artifact
from tests.chromium.running_demo import Demo
from tests.chromium.test_dashboard_browser import (
    FIRST_LOAD_MS,
    browser_page,
    demo,
    wait_until,
)

__all__ = ["browser_page", "demo"]  # the demo and the browser, as the dashboard tests use them


def test_a_japanese_teams_call_shows_its_words_and_its_phrase(
    demo: Demo, browser_page: Page
) -> None:
    page = browser_page
    call = httpx.post(demo.sim_url + "/sim/calls", json={"agent": "sato"}, timeout=5).json()
    sid = call["conference_sid"]
    headers = {"Authorization": f"Bearer {demo.token}"}

    def conference() -> dict[str, Any]:
        answer = httpx.get(f"{demo.api_url}/api/conferences/{sid}", headers=headers, timeout=5)
        return answer.json() if answer.status_code == 200 else {}

    wait_until(lambda: (conference().get("transcript") or {}).get("state") == "on", 20)
    assert conference()["team"] == "jp-support"

    page.goto(demo.signin_url)
    expect(page.get_by_text("Live calls", exact=True)).to_be_visible(timeout=FIRST_LOAD_MS)
    talk = [("agent_call_sid", "お電話ありがとうございます、佐藤でございます"),
            ("customer_call_sid", "もう三回目ですよ、責任者を出してください")]  # fmt: skip
    for leg, text in talk:
        said = httpx.post(f"{demo.sim_url}/sim/conferences/{sid}/actions",
                          json={"action": "say", "call_sid": call[leg], "text": text},
                          timeout=5)  # fmt: skip
        assert said.status_code == 200, said.text
    # The floor rings for the phrase, named as the roster writes it.
    banner = page.get_by_role("button", name="Go to sato: “責任者”")
    expect(banner).to_be_visible(timeout=30_000)
    page.screenshot(path=artifact("ja-1-floor.png"), full_page=True)

    page.goto(demo.signin_url.split("?")[0].rstrip("/") + f"/call?sid={sid}")
    expect(page.get_by_text("Live transcript", exact=True)).to_be_visible(timeout=FIRST_LOAD_MS)
    lines = page.locator("[data-testid=transcript-line]")
    expect(lines.filter(has_text="責任者を出してください")).to_have_count(1)
    expect(lines.filter(has_text="佐藤でございます")).to_have_count(1)
    page.screenshot(path=artifact("ja-2-transcript.png"), full_page=True)
