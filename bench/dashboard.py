"""The dashboard at 2,000 live calls, measured in a real browser.

Starts an embedded Redis, the callback service, the Twilio simulator
(prefilled with N talking calls, arrivals keeping about N live) and the
dashboard, and opens the floor in headless chromium signed in as a manager.
Then, side by side in one run:

1. one floor refresh's server time (what the page's footer reports: the floor
   read, ordering, the table and its Arrow encoding), at the default 200 rows
   and with all rows shown, against the 300 ms target;
2. the bytes the browser receives per refresh (WebSocket frames), likewise;
3. a new call's callback to the browser showing it (p50/p95 of N trials,
   timed in the browser by a MutationObserver), against the 1 s target.

    python -m bench.dashboard [--conferences 2000] [--trials 30]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
from playwright.sync_api import Page, sync_playwright

from bench.common import (
    AUTH_TOKEN,
    free_port,
    percentile,
    process,
)  # fmt: skip
from bench.sim_floor import ACCOUNT_SID, simulated_floor
from earpiece import sessions
from earpiece.settings import load
from tests.browser import CHROMIUM_ARGS, artifact, chromium_path

TARGET_REFRESH_MS = 300
TARGET_VISIBLE_MS = 1000
PROBE_AGENT = "zprobe"  # not a roster agent: the generated traffic never uses it

# Kept in the page: every WebSocket frame's size, and when each count of the
# footer's "N of M calls shown" first appeared, and each "drawn in X ms".
OBSERVER = """
() => {
  window.__shown = {};
  window.__drawn = [];
  const seen = () => {
    for (const el of document.querySelectorAll('[data-testid="stCaptionContainer"]')) {
      const m = el.textContent.match(/^(\\d+) of (\\d+) calls shown.*drawn in (\\d+) ms/);
      if (m) {
        if (!(m[1] in window.__shown)) window.__shown[m[1]] = Date.now();
        if (el.textContent !== window.__last) {
          window.__last = el.textContent;
          window.__drawn.push(Number(m[3]));
        }
      }
    }
  };
  new MutationObserver(seen).observe(document.body,
    {subtree: true, childList: true, characterData: true});
}
"""


@contextlib.contextmanager
def dashboard(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "earpiece.cli", "dashboard", "--port", str(port)]
    with process(cmd, env, f"http://127.0.0.1:{port}", "/_stcore/health") as running:
        yield running.url


def choose_rows(page: Page, rows: str) -> None:
    page.get_by_label("Rows", exact=False).first.click()
    page.get_by_role("option", name=rows, exact=True).click()
    page.wait_for_timeout(1500)


def refreshes(page: Page, frames: list[int], seconds: float) -> tuple[list[int], float]:
    """The footer's 'drawn in' values over `seconds`, and bytes received per refresh."""
    page.evaluate("window.__drawn = []")
    frames.clear()
    page.wait_for_timeout(seconds * 1000)
    drawn: list[int] = page.evaluate("window.__drawn")
    return drawn, sum(frames) / max(1, len(drawn))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conferences", type=int, default=2000)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=15, help="per refresh measurement")
    args = parser.parse_args()

    with simulated_floor("bench", args.conferences, speech=False) as floor:
        service, sim_url = floor.service, floor.sim_url
        env = {
            **os.environ, "REDIS_URL": floor.redis_url, "EARPIECE_NAMESPACE": floor.namespace,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_API_BASE_URL": sim_url, "PUBLIC_BASE_URL": service.url,
        }  # fmt: skip
        settings = load(env, env_file=None)
        with dashboard(env) as dash_url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            frames: list[int] = []
            page.on("websocket", lambda ws: ws.on(
                "framereceived", lambda f: frames.append(len(f) if isinstance(f, (str, bytes))
                                                         else 0)))  # fmt: skip
            page.goto(f"{dash_url}/?session={sessions.issue(settings, 'mina')}")
            page.get_by_text("Live calls", exact=True).wait_for(timeout=30_000)
            page.evaluate(OBSERVER)
            time.sleep(3)
            live = len(httpx.get(service.url + "/api/conferences", timeout=30, headers={
                "Authorization": "Bearer bench-api-token"}).json()["conferences"])  # fmt: skip

            results: dict[str, tuple[list[int], float]] = {}
            results["200 rows"] = refreshes(page, frames, args.seconds)
            choose_rows(page, "2000")
            results["all rows"] = refreshes(page, frames, args.seconds)
            choose_rows(page, "200")

            # A new call, filtered to the probe agent so the footer counts it.
            page.get_by_placeholder("search").fill(PROBE_AGENT)
            page.get_by_placeholder("search").press("Enter")
            page.wait_for_timeout(1500)
            page.evaluate("window.__shown = {}")
            latencies = []
            for n in range(1, args.trials + 1):
                started = time.time() * 1000
                httpx.post(sim_url + "/sim/calls", json={"agent": PROBE_AGENT}, timeout=10)
                deadline = time.monotonic() + 10
                seen: Any = None
                while seen is None and time.monotonic() < deadline:
                    seen = page.evaluate(f"window.__shown['{n}']")
                    time.sleep(0.02)
                if seen is None:
                    raise SystemExit(f"call {n} never showed in the browser")
                latencies.append(seen - started)
                time.sleep(0.2 + (n % 5) * 0.13)  # arrivals off the refresh rhythm
            page.screenshot(path=artifact("bench-dashboard.png"), full_page=True)
            browser.close()

    print(f"dashboard at {live} live calls (simulated, no speech), refresh every 0.5 s")
    for name, (drawn, per_refresh) in results.items():
        p50, p95 = percentile([float(d) for d in drawn], 50), percentile(
            [float(d) for d in drawn], 95)  # fmt: skip
        print(f"  refresh, {name}: server time p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
              f"max {max(drawn, default=0)} ms over {len(drawn)} refreshes "
              f"({p95 / TARGET_REFRESH_MS:.0%} of the {TARGET_REFRESH_MS} ms target); "
              f"{per_refresh / 1024:.0f} KiB to the browser per refresh")  # fmt: skip
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    print(f"  new call visible in the browser: p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
          f"max {max(latencies):.0f} ms over {len(latencies)} calls "
          f"({p95 / TARGET_VISIBLE_MS:.0%} of the {TARGET_VISIBLE_MS} ms target)")  # fmt: skip


if __name__ == "__main__":
    main()
