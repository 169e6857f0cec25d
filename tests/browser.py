"""Debian's chromium, headless, driven by Playwright (no browser download)."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, expect, sync_playwright

from core import processes

CHROMIUM = os.environ.get("EARPIECE_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags chromium keeps dialing Google's
# hosts, which a closed network refuses.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(os.environ.get("EARPIECE_TEST_ARTIFACTS", "test-artifacts"))
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
# axe-core 4.14.1's axe.min.js, as its package's sri-history.json gives it.
AXE_SRI = "sha256-KTSJmUUM3yhJqOcLeRL8LahahJ2jnA0NU5T1HUqe2Vw="
# Assertions wait as long as actions do (15 s): on a loaded 2-core machine a click's effect
# can take longer than Playwright's default 5 s to show. Every browser test imports this.
expect.set_options(timeout=15_000)


def chromium_path() -> str:
    """The chromium binary, or a one-line AssertionError saying how to install it."""
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    assert found, (
        f"no chromium at {CHROMIUM}: install Debian's (apt-get install chromium) "
        "or set EARPIECE_CHROMIUM"
    )
    return found


@contextmanager
def chromium(*extra_args: str) -> Iterator[Browser]:
    """Debian's chromium, headless, launched through Playwright and closed after."""
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=chromium_path(), args=[*CHROMIUM_ARGS, *extra_args]
        )
        try:
            yield launched
        finally:
            launched.close()


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


def wait_for_session_cookie(page: Any, seconds: float = 60.0) -> None:
    """After a sign-in link's page has drawn, wait for its session cookie: the page trades
    the link's one-time code for the HttpOnly cookie in a request of its own
    (dashboard/session_cookie.py), which a loaded machine may finish after the page shows.
    A test that goes to another page before then lands on Sign in (it did, in CI)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(c["name"] == "earpiece_session" for c in page.context.cookies()):
            return
        page.wait_for_timeout(100)
    raise AssertionError("the sign-in link's page never set its session cookie")


# True once Streamlit has no run in progress (no "Running..." icon, no element greyed as
# stale by a rerun) and the page's DOM has not changed for `quiet` ms: the last rerun's
# redraw has landed. A page's own clocks tick once a second, so a short quiet still comes.
SETTLED = """(quiet) => {
  const w = window;
  if (!w.__epSettled) {
    w.__epSettled = {at: performance.now()};
    new MutationObserver(() => { w.__epSettled.at = performance.now(); }).observe(
      document.body, {subtree: true, childList: true, characterData: true, attributes: true});
  }
  if (document.querySelector("[data-testid=stStatusWidgetRunningIcon], [data-stale=true]")) {
    w.__epSettled.at = performance.now();
    return false;
  }
  return performance.now() - w.__epSettled.at > quiet;
}"""


def current(page: Any) -> Any:
    """What the page's current run drew: Streamlit keeps an element of the run before, marked
    stale, until the run that replaces it ends, so for a moment a part moved by a rerun (a
    banner drawn above it) is on the page twice. A part drawn twice by one run is still
    two here."""
    return page.locator("[data-testid=stElementContainer]:not([data-stale=true])")


def settled(page: Any, quiet_ms: int = 400) -> None:
    """Wait for a Streamlit page's last run to be drawn (SETTLED), not a fixed time."""
    page.wait_for_function(SETTLED, arg=quiet_ms, polling=100)


def environment_of(pid: int) -> dict[str, str]:
    """A running process's environment as the kernel holds it (what it was started with)."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.partition(b"=") for item in raw.split(b"\0") if item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, _, v in pairs}


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux's /proc)."""
    return processes.children_of(pid)


def axe_violations(page: Any) -> list[str]:
    """axe-core (vendored, tests/vendor/axe-core/README.md) run on the page as it is drawn:
    each serious or critical violation, with the first few elements it names."""
    source = AXE.read_bytes()
    digest = "sha256-" + base64.b64encode(hashlib.sha256(source).digest()).decode()
    assert digest == AXE_SRI, "tests/vendor/axe-core/axe.min.js is not axe-core 4.14.1"
    page.add_script_tag(content=source.decode("utf-8"))
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
