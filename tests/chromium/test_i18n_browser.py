"""Issue 25 in Debian's chromium: the whole dashboard in Japanese and in English. Ken (the
demo roster's `language = "ja"`) visits every page, and no English word of the catalogue is
left on any of them (the words of people and of calls excepted: transcripts, names); Mina
(no roster language, an English browser) reads every page in English, with no Japanese
word of the catalogue. The sign-in form follows the browser's language (Accept-Language).
Screenshots of every page land in test-artifacts/ (i18n-ja-*.png, i18n-en-*.png).

The same tours run axe-core (issue 28) on every page as drawn, in both languages, with an
agent asking for help (the floor's toast, banner and chime up), and on the sign-in form:
no serious or critical violation. One tour per language checks both, so the suite draws
each page twice rather than three times (issue 24: a suite under five minutes)."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from dashboard import catalogue
from live.roster import load
from tests.browser import (
    artifact,
    axe_violations,
    chromium,
    settled,
    wait_for_session_cookie,
)
from tests.chromium.running_demo import Demo, demo_running
from tests.chromium.test_board_browser import FIRST_LOAD_MS, PAGES
from tests.chromium.test_dashboard_browser import wait_until
from tests.helpers import earpiece_command

# Text that is the floor's data, not Earpiece's words: what callers and agents said (the
# table's "Last said", the transcript), never checked for English.
# Streamlit's Material icons are ligatures, written as words ("call_end"): not ours either.
DATA = "[data-col=said], .ep-tx-text, .ep-tx-hit, .ep-tx-box, [data-testid=stIconMaterial]"
# Every text node of the page, and the placeholder an empty field shows, into open shadow
# roots (the components draw there), but not what is hidden (a column the supervisor hid, a
# status with nothing to say) or DATA.
PAGE_TEXT = """(skip) => {
  const out = [];
  const walk = (root) => {
    for (const node of root.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) { out.push(node.textContent); continue; }
      if (node.nodeType !== Node.ELEMENT_NODE) continue;
      if (["STYLE", "SCRIPT", "NOSCRIPT", "TEMPLATE"].includes(node.tagName)) continue;
      if (node.matches(skip)) continue;
      const style = getComputedStyle(node);
      if (style.display === "none" || style.visibility === "hidden") continue;
      // An empty field's placeholder shows as text (a selectbox's "Choose an option").
      if (node.placeholder && !node.value) out.push(node.placeholder);
      if (node.shadowRoot) walk(node.shadowRoot);
      walk(node);
    }
  };
  walk(document.body);
  return out.join("\\n");
}"""
# The demo's team phrases are its callers' words, quoted on the board and in banners and
# toasts ("“speak to your manager”") whatever the reader's language: taken out of the text.
PHRASES = sorted({p for t in load(None).teams.values() for p in t.phrases}, key=len)[::-1]
ALSO_DATA = {"cancel my account"}  # the Calls page's example search is a team phrase
# Punctuation around a message's words (dashes, arrows, quotes; Japanese full-width too).
ENGLISH_MARKS = " ·:;,.()\u2014\u2013-\u2192\u2190\u201c\u201d\n"
JAPANESE_MARKS = ENGLISH_MARKS + "\u300c\u300d\u3001\u3002\uff1a\uff08\uff09"


def fragments(message: str) -> list[str]:
    """The fixed words of a message, around its placeholders, as a page shows them (no
    Markdown), each long enough (over 3 characters) to be a word, not a coincidence."""
    out = []
    for text, _field, _spec, _conv in string.Formatter().parse(message):
        piece = (text or "").replace("**", "").strip(ENGLISH_MARKS)
        if len(piece) > 3 and re.search(r"[A-Za-z]", piece):
            out.append(piece)
    return out


# Streamlit's own words where a page gives none (an empty selectbox's placeholder): a trial
# found "Choose an option" on the Japanese Calls and Audit pages.
STREAMLIT_DEFAULTS = {"Choose an option", "Choose options"}


def english_words() -> set[str]:
    found: set[str] = set(STREAMLIT_DEFAULTS)
    for m in catalogue.read("ja"):
        if m.id:
            for message in m.id if isinstance(m.id, (tuple, list)) else (m.id,):
                found.update(fragments(message))
    return found - ALSO_DATA


def japanese_words() -> set[str]:
    found: set[str] = set()
    for m in catalogue.read("ja"):
        for said in m.string if isinstance(m.string, (tuple, list)) else (m.string,):
            for text, *_ in string.Formatter().parse(said or ""):
                piece = (text or "").replace("**", "").strip(JAPANESE_MARKS)
                if len(piece) > 3 and re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", piece):
                    found.add(piece)
    return found


def left_over(text: str, words: set[str]) -> list[str]:
    """The words of `words` that `text` holds as whole words (not inside a longer one, nor
    part of a code joined by hyphens: the Audit page shows each entry's code, "words-read",
    beside its words)."""
    return sorted(
        w for w in words if re.search(rf"(?<![A-Za-z_-]){re.escape(w)}(?![A-Za-z_-])", text)
    )


def around(text: str, word: str) -> str:
    at = text.find(word)
    return " ".join(text[max(0, at - 60) : at + len(word) + 60].split())


def test_the_check_finds_english_left_on_a_japanese_page() -> None:
    words = english_words()
    assert {"Needs attention first", "Live calls", "updated", "Sign out"} <= words
    assert left_over("フロア\n通話中 3\nLive calls\n12:00 更新", words) == [
        "Live",
        "Live calls",
        "calls",
    ]
    assert left_over("Delivered", {"Live"}) == []  # a word, not part of one
    assert left_over("発言を閲覧 words-read ken", {"read"}) == []  # nor of a code
    assert "通話ページを開く" in japanese_words()


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    with demo_running("i18n", calls_per_minute=4) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def signed_in(browser: Browser, demo: Demo, who: str, locale: str, first: str) -> Page:
    link = earpiece_command(demo.folder, "signin-link", who)
    assert link.returncode == 0, link.stderr
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(link.stdout.strip())
    expect(page.get_by_text(first, exact=True).first).to_be_visible(timeout=FIRST_LOAD_MS)
    wait_for_session_cookie(page)
    return page


@dataclass
class Tour:
    """What a tour of every page found: words of the other language, axe's violations."""

    words: dict[str, list[str]] = field(default_factory=dict)
    inaccessible: dict[str, list[str]] = field(default_factory=dict)


def visit(
    page: Page, demo: Demo, language: str, paths: dict[str, str], words: set[str], listener: str
) -> Tour:
    """Every page of `paths`, each once drawn (its READY part shown, no placeholder of a
    part still running left): the catalogue's `words` each still shows, and axe's serious
    or critical violations. `listener`: the name of the supervisor on a call by phone."""
    tour = Tour()
    for name, path in paths.items():
        # Through the sidebar where the page has a link, as a reader goes (Streamlit swaps
        # the page in without loading the app again: a third of the tour's CPU went on
        # reloads); by its address where it has none (a call's page).
        link = page.locator(f'[data-testid=stSidebarNav] a[href="{demo.base + path}"]')
        if link.count():
            link.first.click()
            page.wait_for_url(re.compile(re.escape(demo.base + path) + r"(\?.*)?$"))
        else:
            page.goto(demo.base + path)
        expect(page.locator(READY[name]).first).to_be_attached(timeout=FIRST_LOAD_MS)
        page.wait_for_load_state("networkidle")
        expect(page.locator("[data-testid=stSkeleton]")).to_have_count(0, timeout=FIRST_LOAD_MS)
        settled(page)  # what a last rerun redraws
        if name == "floor":
            # The banner (its "Go to tara" button) stays while the agent asks; the toast
            # lasts a few seconds and a loaded machine can draw the page after it has gone.
            expect(page.get_by_role("button").filter(has_text="tara").first).to_be_visible()
            # Its row's Why names tara as the Agent cell does, in the reader's words.
            asked = r"田中 愛 \(tara\) (asked for help|がヘルプを要求)"
            expect(page.get_by_text(re.compile(asked)).first).to_be_visible()
            # Its Monitoring cell: the manager by the roster's name, the mode in words.
            monitoring = (
                f"^{listener}( \\(listen(?: · dialing)?\\)|\uff08モニター(?:・発信中)?\uff09)$"
            )
            expect(page.locator("td[data-col=monitoring]").filter(
                has_text=re.compile(monitoring)).first).to_be_visible()  # fmt: skip
            # Its Why quotes the phrase as the reader's language does.
            quoted = "通話で「cancel my account」と発言" if language == "ja" else (
                "the call said “cancel my account”")  # fmt: skip
            expect(page.locator("td[data-col=why]").filter(has_text=quoted).first).to_be_visible()
        page.screenshot(path=artifact(f"i18n-{language}-{name}.png"), full_page=True)
        text = page.evaluate(PAGE_TEXT, DATA)
        for phrase in PHRASES:
            text = text.replace(phrase, "")
        left = left_over(text, words)
        if left:  # each word with what surrounds it, to find it on the page
            tour.words[name] = [f"{w} in …{around(text, w)}…" for w in left]
        bad = axe_violations(page)
        if bad:
            tour.inaccessible[name] = bad
    return tour


def every_page(demo: Demo, listener: str) -> dict[str, str]:
    """The pages, and a call of tara's whose agent asks for help (through the API, with the
    agent's own key, as the softphone does) so the floor shows its help banner; and a call
    of uma's that `listener` listens to by phone, so its row's Monitoring says so (a trial
    found it in English on a Japanese board; joining tara's would answer her help), and
    whose caller says a team phrase, so its Why quotes it (English marks, the trial found)."""
    call = httpx.post(demo.sim_url + "/sim/calls", json={"agent": "tara"}, timeout=5).json()
    made = earpiece_command(demo.folder, "api-key", "create", "tara", "--agent")
    assert made.returncode == 0, made.stderr
    asked = httpx.post(f"{demo.api_url}/api/calls/{call['agent_call_sid']}/help", timeout=5,
                       headers={"Authorization": f"Bearer {made.stdout.split()[0]}"})  # fmt: skip
    assert asked.status_code == 201, asked.text
    sid = call["conference_sid"]
    other = httpx.post(demo.sim_url + "/sim/calls", json={"agent": "uma"}, timeout=5).json()
    made = earpiece_command(demo.folder, "api-key", "create", listener)
    assert made.returncode == 0, made.stderr
    monitors = f"{demo.api_url}/api/conferences/{other['conference_sid']}/monitors"
    joined = httpx.post(monitors, timeout=5,
                        json={"supervisor": listener, "mode": "listen"},
                        headers={"Authorization": f"Bearer {made.stdout.split()[0]}"})  # fmt: skip
    assert joined.status_code == 201, joined.text
    by_key = {"Authorization": f"Bearer {made.stdout.split()[0]}"}
    conference = f"{demo.api_url}/api/conferences/{other['conference_sid']}"
    wait_until(lambda: (httpx.get(conference, headers=by_key, timeout=5).json().get("transcript")
                        or {}).get("state") == "on", 20)  # fmt: skip
    said = httpx.post(f"{demo.sim_url}/sim/conferences/{other['conference_sid']}/actions",
                      json={"action": "say", "call_sid": other["customer_call_sid"],
                            "text": "I want to cancel my account"}, timeout=5)  # fmt: skip
    assert said.status_code == 200, said.text
    return {**PAGES, "call": f"/call?sid={sid}"}


# What each page draws last, once its live parts have their data (the same in each language).
READY = {
    "floor": ".ep-board[data-version]", "queues": ".ep-qtile, .ep-empty", "agents": ".ep-card",
    "day": "[data-testid=stExpander]", "calls": "[data-testid=stDataFrame]",
    "audit": "[data-testid=stDownloadButton]", "wallboard": ".ep-wtotal",
    "call": ".ep-tx-state",
}  # fmt: skip


def test_a_japanese_supervisor_reads_every_page_in_japanese(demo: Demo, browser: Browser) -> None:
    page = signed_in(browser, demo, "ken", "en-US", "通話中")  # the roster's language wins
    # (Mina listens to a call meanwhile; Ken in the English tour: one call each at a time.)
    tour = visit(page, demo, "ja", every_page(demo, "mina"), english_words(), "Mina Park")
    assert tour.words == {}, f"English left on Japanese pages: {tour.words}"
    assert tour.inaccessible == {}, f"axe on Japanese pages: {tour.inaccessible}"
    page.context.close()


def test_an_english_supervisor_reads_every_page_in_english(demo: Demo, browser: Browser) -> None:
    page = signed_in(browser, demo, "mina", "en-US", "Live calls")
    tour = visit(page, demo, "en", every_page(demo, "ken"), japanese_words(), "Ken Sato")
    assert tour.words == {}, f"Japanese words on English pages: {tour.words}"
    assert tour.inaccessible == {}, f"axe on English pages: {tour.inaccessible}"
    expect(page.get_by_role("link", name="Floor")).to_be_visible()
    page.context.close()


def test_the_sign_in_form_follows_the_browsers_language(demo: Demo, browser: Browser) -> None:
    for locale, title in (("ja-JP", "サインイン"), ("en-US", "Sign in")):
        context = browser.new_context(locale=locale)
        page = context.new_page()
        page.goto(demo.base + "/")
        expect(page.get_by_text(title, exact=True).first).to_be_visible(timeout=FIRST_LOAD_MS)
        assert axe_violations(page) == [], f"axe on the {locale} sign-in form"
        context.close()
