"""Many supervisors watching one floor: the board's cost per watcher, measured side by side.

Starts Redis, the callback service, the Twilio simulator (about 2,000 live
calls, arrivals keeping it there) and the dashboard, opens a few real
Chromium pages on the Floor page (signed in as the manager, filtered to a
probe agent), then, for N = 1, 10, 30 and 100 protocol-level watchers (what
the page's board component speaks: a ticket, then `GET /events/board` with a
set of filters, spread over five views as a floor's leads filter), prints:

- the CPU (cores) and RSS of the callback service and of the dashboard;
- board updates each watcher received per minute (min and median);
- the server time of one board pass (all views, once), p50 / p95;
- a new call's callback to the change visible in a real page (p50 / p95).

and the added service CPU per extra watcher. Targets (issue 11): at 30
watchers every watcher updated at least once a second, visible < 1 s p95,
the dashboard under one core; < 1% of a core per extra watcher; one
watcher's pass no slower than the old refresh (85 ms p95 at 200 rows, in
MEASUREMENTS.md, measured on the landed code before this change).

    python -m bench.watchers [--conferences 2000] [--seconds 20] [--pages 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import secrets
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, sync_playwright

from bench.common import (
    API_TOKEN,
    AUTH_TOKEN,
    free_port,
    percentile,
    process,
    signin_query,
    source_at,
)
from bench.sim_floor import ACCOUNT_SID, cpu_seconds, simulated_floor
from bench.streamlit_client import Tab
from core.settings import load
from tests.browser import CHROMIUM_ARGS, artifact, chromium_path

STEPS = (1, 10, 30, 100)
BEFORE_STEPS = (1, 5, 10, 30)
# The landed code that issue 11 measured (MEASUREMENTS.md): the board rerun per watcher.
BEFORE = "64e422c"
REPO = Path(__file__).resolve().parent.parent
VIEWS = ("", "&order=newest", "&order=longest&limit=50", "&state=hold", "&limit=500")
PROBE_AGENT = "zprobe"  # not a roster agent: the generated traffic never uses it
BEFORE_REFRESH_P95_MS = 85  # MEASUREMENTS.md: one watcher, 200 rows, the landed code
TARGET_VISIBLE_MS = 1000

# In the page: when each "N of N calls shown" first appeared in the board's footer
# (the component draws in a shadow root, so the observer is put there).
OBSERVER = """
() => {
  window.__shown = {};
  const host = [...document.querySelectorAll('*')].find(
    (e) => e.shadowRoot && e.shadowRoot.querySelector('.ep-footer'));
  const footer = host.shadowRoot.querySelector('.ep-footer');
  const seen = () => {
    const m = footer.textContent.match(/^(\\d+) of (\\d+) calls shown/);
    if (m && !(m[1] in window.__shown)) window.__shown[m[1]] = Date.now();
  };
  new MutationObserver(seen).observe(footer, {subtree: true, childList: true,
                                              characterData: true});
}
"""


@dataclass
class Watcher:
    updates: int = 0
    received: int = 0
    task: asyncio.Task[None] | None = None


def legacy_session(auth_token: str, supervisor: str, hours: float = 12.0) -> str:
    """A session token as the dashboard before issue 13 took it in its URL (HMAC-SHA256 with
    a key derived from the auth token): only for running that revision side by side."""
    import base64
    import hashlib
    import hmac

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    key = hmac.new(auth_token.encode(), b"earpiece dashboard sessions", "sha256").digest()
    payload = f"{supervisor}\n{int(time.time() + hours * 3600)}".encode()
    return f"{b64(payload)}.{b64(hmac.new(key, payload, hashlib.sha256).digest())}"


@dataclass
class Crowd:
    """Protocol-level watchers on a loop of their own (the pages use Playwright's sync API):
    each one a Streamlit tab (`tab_url`) and, today, the board stream its page holds."""

    service_url: str
    tab_url: str
    query_string: Callable[[], str]  # a fresh sign-in query for each tab
    streams: bool = True
    watchers: list[Watcher] = field(default_factory=list)
    tabs: list[Tab] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.http = asyncio.run_coroutine_threadsafe(self._client(), self.loop).result()

    async def _client(self) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
        return httpx.AsyncClient(base_url=self.service_url, timeout=None, limits=limits)

    async def _watch(self, w: Watcher, view: str) -> None:
        got = await self.http.post(
            "/api/events/ticket?stream=board", headers={"Authorization": f"Bearer {API_TOKEN}"}
        )
        ticket = got.json()["ticket"]
        async with self.http.stream("GET", f"/events/board?ticket={ticket}{view}") as answer:
            assert answer.status_code == 200, answer.status_code
            async for chunk in answer.aiter_bytes():
                w.received += len(chunk)
                w.updates += chunk.count(b"event: board")

    def grow(self, n: int) -> None:
        async def add() -> None:
            while len(self.tabs) < n:
                tab = Tab(self.tab_url, self.query_string())
                self._tasks.append(asyncio.create_task(tab.run()))
                self.tabs.append(tab)
                if self.streams:
                    w = Watcher()
                    w.task = asyncio.create_task(self._watch(w, VIEWS[len(self.watchers) % 5]))
                    self.watchers.append(w)

        asyncio.run_coroutine_threadsafe(add(), self.loop).result()

    def stop(self) -> None:
        async def cancel() -> None:
            tasks = [*self._tasks, *(w.task for w in self.watchers if w.task)]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.http.aclose()

        asyncio.run_coroutine_threadsafe(cancel(), self.loop).result()

    def counts(self) -> list[tuple[int, int]]:
        """Per watcher: updates it got (board events, or delivered reruns before) and bytes."""
        if not self.streams:
            return [(t.delivered, t.received) for t in self.tabs]
        return [(w.updates, w.received + t.received)
                for w, t in zip(self.watchers, self.tabs, strict=True)]  # fmt: skip


def filled(service_url: str, conferences: int, seconds: float = 120) -> int:
    """Wait until the simulator's prefill is on the floor (90%); the live count."""
    deadline = time.monotonic() + seconds
    while True:
        live = len(httpx.get(service_url + "/api/conferences", timeout=30, headers={
            "Authorization": f"Bearer {API_TOKEN}"}).json()["conferences"])  # fmt: skip
        if live >= conferences * 0.9 or time.monotonic() > deadline:
            return live
        time.sleep(1)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pass_ms(service_url: str) -> float:
    text = httpx.get(service_url + "/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith("earpiece_board_pass_seconds "):
            return float(line.split()[1]) * 1000
    return 0.0


@contextlib.contextmanager
def dashboard(env: dict[str, str]) -> Iterator[Any]:
    port = free_port()
    cmd = [sys.executable, "-m", "earpiece.cli", "dashboard", "--port", str(port)]
    with process(cmd, env, f"http://127.0.0.1:{port}", "/_stcore/health") as running:
        yield running


def open_page(browser: Any, url: str) -> Page:
    page: Page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.goto(url)
    page.get_by_text("Live calls", exact=True).wait_for(timeout=60_000)
    page.get_by_placeholder("search").fill(PROBE_AGENT)
    page.get_by_placeholder("search").press("Enter")
    page.get_by_text(re.compile(r"^0 of 0 calls shown")).wait_for(timeout=30_000)
    page.wait_for_timeout(1500)
    page.evaluate(OBSERVER)
    return page


def probe_latencies(pages: list[Page], sim_url: str, trials: int, first: int) -> list[float]:
    """Start probe calls; when each one's count first showed in every page, from the callback."""
    out = []
    for n in range(first, first + trials):
        started = time.time() * 1000
        httpx.post(sim_url + "/sim/calls", json={"agent": PROBE_AGENT}, timeout=10)
        for page in pages:
            deadline = time.monotonic() + 10
            seen: Any = None
            while seen is None and time.monotonic() < deadline:
                seen = page.evaluate(f"window.__shown['{n}']")
                time.sleep(0.02)
            if seen is None:
                raise SystemExit(f"probe call {n} never showed in a page")
            out.append(seen - started)
        time.sleep(0.2 + (n % 5) * 0.13)  # arrivals off the push rhythm
    return out


@contextlib.contextmanager
def dashboard_before(env: dict[str, str], revision: str) -> Iterator[Any]:
    """The dashboard as it was at `revision` (git archive), on the same floor and settings."""
    with source_at(revision) as folder:
        port = free_port()
        cmd = [sys.executable, "-m", "streamlit", "run", f"{folder}/dashboard/app.py",
               "--server.address", "127.0.0.1", "--server.port", str(port),
               "--server.headless", "true", "--server.fileWatcherType", "none",
               "--browser.gatherUsageStats", "false",
               "--global.developmentMode", "false"]  # fmt: skip
        # Its own modules first: run from its folder (`-m` puts the working directory first
        # on sys.path), with PYTHONPATH ahead of the editable install's path too.
        with process(cmd, {**env, "PYTHONPATH": folder}, f"http://127.0.0.1:{port}",
                     "/_stcore/health", cwd=folder) as running:  # fmt: skip
            yield running


@dataclass
class Step:
    n: int
    cores: dict[str, float]
    rss: dict[str, float]
    per_minute: list[float]
    kib_s: float
    passes: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    discarded: float = 0.0


def measure(crowd: Crowd, n: int, pids: dict[str, int], seconds: float,
            during: Any = None) -> Step:  # fmt: skip
    """Grow the crowd to n, let it settle, then measure for `seconds` (running `during`)."""
    crowd.grow(n)
    time.sleep(5)  # every watcher has its first view
    cpu0 = {k: cpu_seconds(pid) for k, pid in pids.items()}
    counts0, dropped0, t0 = crowd.counts(), sum(t.discarded for t in crowd.tabs), time.monotonic()
    step = Step(n, {}, {}, [], 0.0)
    if during is not None:
        during(step)
    while time.monotonic() - t0 < seconds:
        time.sleep(0.25)
    elapsed = time.monotonic() - t0
    counts1 = crowd.counts()
    step.cores = {k: (cpu_seconds(pid) - cpu0[k]) / elapsed for k, pid in pids.items()}
    step.rss = {k: rss_mb(pid) for k, pid in pids.items()}
    pairs = list(zip(counts0, counts1, strict=False))
    step.per_minute = [(u1 - u0) / elapsed * 60 for (u0, _), (u1, _) in pairs]
    step.kib_s = sum(b1 - b0 for (_, b0), (_, b1) in pairs) / elapsed / 1024
    step.discarded = (sum(t.discarded for t in crowd.tabs) - dropped0) / elapsed * 60 / n
    return step


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conferences", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20, help="measured per step")
    parser.add_argument("--pages", type=int, default=3, help="real Chromium pages watching")
    parser.add_argument("--trials", type=int, default=10, help="probe calls per step")
    parser.add_argument("--before", default=BEFORE, help="the revision to compare with")
    args = parser.parse_args()

    before: list[Step] = []
    after: list[Step] = []
    # The reconciler's pass (every 30 s, thousands of conferences asked of the simulator)
    # would land in some measured windows and not others: off here, to see the board's cost.
    # Every protocol-level watcher here is the service token, one "person": its fair share
    # (EARPIECE_STREAMS_PER_PERSON, tickets a minute) is lifted to the bench's hundred.
    with simulated_floor("watch", args.conferences, speech=False,
                         EARPIECE_RECONCILE_SECONDS="3600", EARPIECE_STREAMS_PER_PERSON="1000",
                         EARPIECE_TICKETS_PER_MINUTE="10000") as floor:  # fmt: skip
        service, sim_url = floor.service, floor.sim_url
        env = {
            **os.environ, "REDIS_URL": floor.redis_url, "EARPIECE_NAMESPACE": floor.namespace,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_API_BASE_URL": sim_url, "PUBLIC_BASE_URL": service.url,
            "EARPIECE_SESSION_SECRET": secrets.token_urlsafe(32), "EARPIECE_DEMO": "true",
        }  # fmt: skip

        def query() -> str:  # today's dashboard: a one-time sign-in link per page
            return signin_query(floor.redis_url, floor.namespace, "mina")

        def legacy() -> str:  # the landed revision's signed session token in the URL
            return "session=" + legacy_session(AUTH_TOKEN, "mina")

        live = filled(service.url, args.conferences)

        # Before: the dashboard at --before, every tab rerunning the floor every 0.5 s.
        with dashboard_before(env, args.before) as dash:
            crowd = Crowd(service.url, dash.url, legacy, streams=False)
            pids = {"service": service.process.pid, "dashboard": dash.process.pid}
            for n in BEFORE_STEPS:
                before.append(measure(crowd, n, pids, args.seconds))
            crowd.stop()

        # Now: each watcher is a Streamlit tab (idle between clicks) and its board stream.
        with dashboard(env) as dash, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            pages = [open_page(browser, f"{dash.url}/?{query()}") for _ in range(args.pages)]
            crowd = Crowd(service.url, dash.url, query)
            pids = {"service": service.process.pid, "dashboard": dash.process.pid}
            probes = [1]

            def probe(step: Step) -> None:
                step.latencies = probe_latencies(pages, sim_url, args.trials, probes[0])
                probes[0] += args.trials
                for _ in range(8):
                    step.passes.append(pass_ms(service.url))
                    time.sleep(0.25)

            for n in STEPS:
                after.append(measure(crowd, n, pids, args.seconds, during=probe))
            pages[0].screenshot(path=artifact("bench-watchers.png"), full_page=True)
            browser.close()
            crowd.stop()

    report(live, load(env, env_file=None).dashboard_refresh_seconds, args, before, after)


def report(live: int, refresh: float, args: Any, before: list[Step], after: list[Step]) -> None:
    print(f"{live} live calls (simulated, no speech); refresh / push every {refresh:g} s; "
          f"{args.seconds:g} s measured per step; one run, one floor")  # fmt: skip
    print(f"\nbefore ({args.before}): N protocol-level tabs, each rerunning the floor")
    print(f"{'N':>4} {'dashboard':>9} {'service':>8} {'dash RSS':>8} "
          f"{'refreshes/min min/med (of 120)':>31} {'thrown away/min':>16}")  # fmt: skip
    for st in before:
        print(f"{st.n:>4} {st.cores['dashboard']:>9.2f} {st.cores['service']:>8.2f} "
              f"{st.rss['dashboard']:>6.0f}MB {min(st.per_minute):>14.0f} / "
              f"{statistics.median(st.per_minute):>5.0f} {st.discarded:>21.0f}")  # fmt: skip
    print(f"\nnow: N tabs and their board streams, plus {args.pages} real Chromium pages "
          "(5 views among the streams)")  # fmt: skip
    print(
        f"{'N':>4} {'dashboard':>9} {'service':>8} {'svc RSS':>8} {'dash RSS':>8} "
        f"{'updates/min min/med':>20} {'pass p50/p95':>13} {'visible p50/p95':>16} {'KiB/s':>7}"
    )
    for st in after:
        print(f"{st.n:>4} {st.cores['dashboard']:>9.2f} {st.cores['service']:>8.2f} "
              f"{st.rss['service']:>6.0f}MB {st.rss['dashboard']:>6.0f}MB "
              f"{min(st.per_minute):>9.0f} / {statistics.median(st.per_minute):>6.0f}  "
              f"{percentile(st.passes, 50):>5.0f} / {percentile(st.passes, 95):>4.0f} ms "
              f"{percentile(st.latencies, 50):>6.0f} / {percentile(st.latencies, 95):>4.0f} ms "
              f"{st.kib_s:>7.0f}")  # fmt: skip
    first, last = after[0], after[-1]
    total = {k: last.cores[k] - first.cores[k] for k in ("service", "dashboard")}
    per_watcher = sum(total.values()) / (last.n - first.n)
    print(
        f"\nadded CPU per extra watcher now (service + dashboard, N={first.n} to {last.n}): "
        f"{per_watcher * 100:.2f}% of a core ({per_watcher * 100:.0%} of the 1% target)"
    )
    b_first, b_last = before[0], before[-1]
    b_per = (b_last.cores["dashboard"] - b_first.cores["dashboard"]) / (b_last.n - b_first.n)
    print(f"before, N={b_first.n} to {b_last.n}: {b_per * 100:.2f}% of a core per extra watcher "
          f"(until the one interpreter saturates; then watchers starve instead)")  # fmt: skip
    for now in after:
        then = next((b for b in before if b.n == now.n), None)
        if then is not None:
            print(f"N={now.n}: slowest watcher {min(then.per_minute):.0f} -> "
                  f"{min(now.per_minute):.0f} updates/min; dashboard {then.cores['dashboard']:.2f} "
                  f"-> {now.cores['dashboard']:.2f} cores, service {then.cores['service']:.2f} "
                  f"-> {now.cores['service']:.2f}")  # fmt: skip
    thirty = next(st for st in after if st.n == 30)
    visible = percentile(thirty.latencies, 95)
    print(f"30 watchers now: slowest {min(thirty.per_minute):.0f} updates/min (target >= 60), "
          f"visible p95 {visible:.0f} ms ({visible / TARGET_VISIBLE_MS:.0%} of the 1 s target), "
          f"dashboard {thirty.cores['dashboard']:.2f} cores (target < 1)")  # fmt: skip
    one = percentile(first.passes, 95)
    print(f"1 watcher: board pass p95 {one:.0f} ms (one pass serves every watcher) against the "
          f"old per-watcher refresh's {BEFORE_REFRESH_P95_MS} ms p95 in MEASUREMENTS.md "
          f"({one / BEFORE_REFRESH_P95_MS:.0%})")  # fmt: skip


if __name__ == "__main__":
    main()
