"""Issue 28 in chromium: a fresh page worked from the keyboard alone, the board's columns
on screen at 1366x768 and 1920x1080 (screenshots kept). axe-core's check of every page
runs on the i18n tours (test_i18n_browser.py), in both languages."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import artifact, chromium, wait_for_session_cookie
from tests.chromium.running_demo import Demo, demo_running
from tests.helpers import earpiece_command

FIRST_LOAD_MS = 60_000


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    with demo_running("board", calls_per_minute=4) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def signed_in(browser: Browser, demo: Demo, who: str, width: int, height: int) -> Page:
    link = earpiece_command(demo.folder, "signin-link", who)
    assert link.returncode == 0, link.stderr
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(15_000)
    page.goto(link.stdout.strip())
    expect(page.get_by_text("Live calls", exact=True)).to_be_visible(timeout=FIRST_LOAD_MS)
    wait_for_session_cookie(page)
    return page


def supervisor_leg(demo: Demo, sid: str, who: str) -> dict[str, Any] | None:
    state = httpx.get(demo.sim_url + "/sim/state", timeout=5).json()
    for conference in state["conferences"]:
        for p in conference["participants"] if conference["sid"] == sid else ():
            if p["label"] == f"supervisor:{who}" and p["status"] == "connected":
                return dict(p)
    return None


def table_y(page: Page) -> float:
    box = page.locator(".ep-wrap").bounding_box()
    assert box is not None
    return box["y"]


def test_keyboard_only_listen_from_a_fresh_page(demo: Demo, browser: Browser) -> None:
    call = httpx.post(demo.sim_url + "/sim/calls", json={"agent": "tara"}, timeout=5).json()
    sid = call["conference_sid"]
    page = signed_in(browser, demo, "mina", 1366, 768)
    expect(page.locator(f'tr[data-sid="{sid}"]')).to_be_attached()
    # Tab until a row of the board has the focus: one Tab stop for the whole table.
    on_row = "() => { const a = document.activeElement; return !!(a && a.closest && "
    on_row += "(a.closest('tr[data-sid]') || (a.shadowRoot && a.shadowRoot.activeElement "
    on_row += "&& a.shadowRoot.activeElement.closest('tr[data-sid]')))); }"
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate(on_row):
            break
    else:
        raise AssertionError("no row of the board is reachable with Tab")
    # Arrows move between rows; Home is the first. Find our call's row by arrowing.
    page.keyboard.press("Home")
    for _ in range(40):
        focused = page.locator("tr[data-sid]:focus")
        if focused.count() and focused.get_attribute("data-sid") == sid:
            break
        page.keyboard.press("ArrowDown")
    assert page.locator("tr[data-sid]:focus").get_attribute("data-sid") == sid
    table_top = table_y(page)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Open call page")).to_be_visible()
    # Choosing a row does not move the table: the controls have a place of their own.
    assert table_y(page) == table_top
    # The shortcut is shown on the button, and works.
    listen = page.locator("button", has_text="Listen").first
    expect(listen).to_contain_text("L")
    page.locator("body").press("l")
    expect(page.get_by_text("You are listening")).to_be_visible()
    assert table_y(page) == table_top  # nor does joining
    leg = supervisor_leg(demo, sid, "mina")
    assert leg is not None and leg["muted"] is True
    page.screenshot(path=artifact("28-keyboard-listen.png"), full_page=True)
    page.locator("body").press("x")  # Leave
    expect(page.get_by_text("You are listening")).to_have_count(0)
    page.close()


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_every_chosen_column_fits_the_window(
    demo: Demo, browser: Browser, size: tuple[int, int]
) -> None:
    width, height = size
    page = signed_in(browser, demo, "mina", width, height)
    expect(page.locator("tr[data-sid]").first).to_be_attached()
    page.screenshot(path=artifact(f"28-floor-{width}x{height}.png"))
    shown = page.locator("th[data-col]").evaluate_all(
        "(ths) => ths.filter((t) => t.offsetParent !== null).map((t) => {"
        " const r = t.getBoundingClientRect(); return [t.textContent, r.left, r.right]; })"
    )
    assert {name for name, _, _ in shown} >= {"Agent", "State", "Alerts", "Last said", "Why"}
    for name, left, right in shown:
        assert left >= 0 and right <= width, f"{name} is off-screen at {width}px: {right}"
    wrap = page.locator(".ep-wrap")
    assert wrap.evaluate("(w) => w.scrollWidth <= w.clientWidth + 1"), "the table scrolls sideways"
    page.close()


PAGES = {
    "floor": "/",
    "queues": "/queues",
    "agents": "/agents",
    "day": "/day",
    "calls": "/calls",
    "audit": "/audit",
    "wallboard": "/wallboard",
}


def test_qa_reviews_with_na_and_edits_it_in_chromium(demo: Demo, browser: Browser) -> None:
    made = earpiece_command(demo.folder, "api-key", "create", "quincy")
    assert made.returncode == 0, made.stderr
    key = made.stdout.split()[0]
    text = (demo.folder / "data" / "demo.env").read_text()
    api = re.search(r'"PUBLIC_BASE_URL": "([^"]+)"', text).group(1)  # type: ignore[union-attr]
    headers = {"Authorization": f"Bearer {key}"}
    call = httpx.post(demo.sim_url + "/sim/calls", json={"agent": "tara"}, timeout=5).json()
    sid = call["conference_sid"]
    httpx.post(f"{demo.sim_url}/sim/conferences/{sid}/actions", json={"action": "end"}, timeout=5)

    def record() -> dict[str, Any] | None:
        answer = httpx.get(f"{api}/api/history/{sid}", headers=headers, timeout=5)
        return answer.json() if answer.status_code == 200 else None

    for _ in range(300):  # a minute at most
        if record() is not None:
            break
        time.sleep(0.2)
    assert record() is not None, "the call never reached the archive"
    page = signed_in(browser, demo, "quincy", 1366, 900)
    page.goto(f"{demo.base}/calls?sid={sid}")
    form = page.locator('[data-testid="stForm"]')
    expect(form.get_by_text("Your review")).to_be_visible(timeout=FIRST_LOAD_MS)
    form.get_by_role("radiogroup", name="Verified the caller").get_by_text("Pass").click()
    form.get_by_role("radiogroup", name="Resolved").get_by_text("Fail").click()
    # No score yet: saving says so and saves nothing (an untouched form once saved 80).
    form.get_by_role("button", name=re.compile("Save review")).click()
    # (The message is shown as literal text: its brackets are escaped for Markdown.)
    expect(page.get_by_text(re.compile(r"^Give the call a score"))).to_be_visible()
    assert (record() or {})["reviews"] == []
    form.get_by_role("spinbutton", name="Score (0 to 100)").fill("80")
    form.get_by_role("button", name=re.compile("Save review")).click()
    expect(page.get_by_text("Review saved")).to_be_visible()
    expect(form.get_by_text("Edit your review")).to_be_visible()
    form.get_by_role("radiogroup", name="Resolved").get_by_text("N/A").click()
    form.get_by_role("button", name=re.compile("Save changes")).click()
    expect(page.get_by_text("Review changed")).to_be_visible()
    page.screenshot(path=artifact("28-review-edited.png"), full_page=True)
    [review] = (record() or {})["reviews"]
    assert review["reviewer"] == "quincy" and review["score"] == 80
    assert review["criteria"]["Verified the caller"] is True
    assert review["criteria"]["Resolved"] is None
    page.close()
