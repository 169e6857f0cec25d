"""A 10,000-call floor over HTTP, watched by 100 streams and 3 real chromium pages (issue 29).

Everything reaches the service as Twilio would send it: validly signed conference callbacks
over HTTP, signed ahead of their sending (a few seconds' worth at a time, in a process of
their own that writes prepared request bytes on keep-alive connections, so the generator
is not the bottleneck). The run:

1. a callback service on one port; the floor's callbacks (N calls, default 10,000: a
   caller and, for most, an agent; some on hold; started over the last 30 minutes), and
   Redis's memory per live call;
2. then, per round, the same floor under the same load with each kind of board hub side by
   side: the one that reads the floor whole every pass (before issue 29,
   bench/full_read_board.py) and today's, kept from the feed:
   - R speech starts and stops a second (default 1,000, as 10,000 calls with speaker
     events send) for the whole round;
   - W protocol-level watchers (default 100) of `GET /events/board` over five views: how
     many were updated at least once a second, and the longest gap;
   - P chromium pages (default 3) on the dashboard's Floor, filtered to a probe agent: a
     new probe call's first callback to its row counted in every page (p50 / p95);
   - the board pass p50 / p95 (the service's `earpiece_board_pass_seconds`, sampled four
     times a second), the service's CPU;
   - callbacks lost: every callback sent must be answered 2xx and applied (each
     conference's bitmap of applied SequenceNumbers holds every one sent).

The service and the dashboard run the demo roster with no team transcribed or recorded
(there is no Twilio here to start them; the once-a-second jobs would retry thousands of
failing starts every few seconds).

Targets (issue 29): 0 callbacks lost; every watcher updated at least once a second; a new
call visible in a real page < 1 s p95; a board pass < 100 ms p95.

    python -m bench.board_pages [--conferences 10000] [--rate 1000] [--seconds 30]
                                [--watchers 100] [--pages 3] [--probes 20]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import os
import random
import re
import secrets
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import redis as redis_sync
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from bench.board_pass import FIRST_VIEWS_SECONDS, Call, Crowd, floor_calls
from bench.common import (
    AUTH_TOKEN,
    callbacks_service,
    cpu_seconds,
    free_port,
    percentile,
    process_tree,
    redis_url,
    signin_query,
)
from bench.watchers import OBSERVER, PROBE_AGENT, dashboard
from callbacks.signature import compute
from core.keys import Keys
from tests.browser import CHROMIUM_ARGS, chromium_path

PATH = "/twilio/conference-events"
CONNECTIONS = 16
AHEAD_SECONDS = 3.0  # callbacks signed this far ahead of their sending
TARGET_PASS_MS = 100
PAGE_WAIT_MS = 120_000  # a page's first draw of the floor, on a busy machine
TARGET_VISIBLE_MS = 1000


def quiet_roster() -> str:
    """The demo roster with no team transcribed or recorded: with no Twilio here, the
    once-a-second jobs would try (and fail) to start thousands of transcriptions and
    recordings every few seconds, a cost a floor with Twilio pays once per call."""
    text = (Path(__file__).parent.parent / "earpiece" / "demo_roster.toml").read_text()
    text = re.sub(r'(?m)^transcribe = ".*"$', 'transcribe = "off"', text)
    text = re.sub(r"(?m)^record = true$", "record = false", text)
    path = Path(tempfile.mkdtemp(prefix="ep-pages-")) / "roster.toml"
    path.write_text(text)
    return str(path)


ROSTER = quiet_roster() if __name__ == "__main__" else ""


def service(url: str, namespace: str, port: int, module: str = "earpiece.cli") -> Any:
    """The callback service. The service token's fair share of streams and tickets (every
    watcher here is that one "person") is lifted to the bench's hundred; the reconciler
    would ask a Twilio that is not there."""
    return callbacks_service(
        url, namespace, str(port), module=module, EARPIECE_STREAMS_PER_PERSON="1000",
        EARPIECE_TICKETS_PER_MINUTE="10000", EARPIECE_RECONCILE_SECONDS="3600",
        EARPIECE_ROSTER=ROSTER,
    )  # fmt: skip


def request_bytes(port: int, params: dict[str, str]) -> bytes:
    """One signed callback as the bytes of an HTTP/1.1 request."""
    url = f"http://127.0.0.1:{port}{PATH}"
    body = urlencode(params).encode()
    signature = compute(AUTH_TOKEN.encode(), url, params.items())
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class Sent:
    answered: int = 0  # 2xx
    refused: dict[str, int] = field(default_factory=dict)  # status or error -> count


async def post_all(port: int, requests: Any, rate: float | None, sent: Sent, stop: Any) -> None:
    """Send each request of the iterator on CONNECTIONS keep-alive connections, at `rate` a
    second (None: as fast as answered), until it runs out or `stop` is set."""
    started = time.monotonic()
    counter = itertools.count()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in requests:
                n = next(counter)
                if rate is not None:
                    wait = started + n / rate - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                try:
                    writer.write(request)
                    head = await reader.readuntil(b"\r\n\r\n")
                    status = int(head.split(b" ", 2)[1])
                    length = re.search(rb"(?i)content-length: *(\d+)", head)
                    if length:
                        await reader.readexactly(int(length.group(1)))
                except (OSError, asyncio.IncompleteReadError) as exc:
                    # Counted as lost; a new connection for the next one.
                    sent.refused[type(exc).__name__] = sent.refused.get(type(exc).__name__, 0) + 1
                    writer.close()
                    if stop is not None and stop.is_set():
                        return
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    continue
                if 200 <= status < 300:
                    sent.answered += 1
                else:
                    sent.refused[str(status)] = sent.refused.get(str(status), 0) + 1
                if stop is not None and stop.is_set():
                    return
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))


def speech(port: int, calls: list[Call], rate: float, stop: Any, out: Any) -> None:
    """In a process of its own: `rate` speech starts and stops a second on answered calls,
    each signed up to AHEAD_SECONDS before it is due, until `stop`; puts in `out` how many
    were answered 2xx, the refusals, and each call's last SequenceNumber sent."""
    rng = random.Random(time.time_ns())
    answered = [c for c in calls if c.agent is not None]
    speaking: dict[tuple[str, str], bool] = {}
    start = time.time() + 1.0
    last = {c.sid: c.seq for c in calls}

    def made() -> Iterator[tuple[str, int, bytes]]:
        for n in itertools.count():
            c = rng.choice(answered)
            who = c.customer if rng.random() < 0.5 else str(c.agent)
            on = not speaking.get((c.sid, who), False)
            speaking[(c.sid, who)] = on
            kind = "participant-speech-start" if on else "participant-speech-stop"
            at = datetime.fromtimestamp(start + n / rate, UTC)
            yield c.sid, c.seq + 1, request_bytes(port, c.event(kind, who, at))

    def signed_ahead() -> Iterator[bytes]:
        source, queue = made(), list[tuple[str, int, bytes]]()
        while not stop.is_set():
            if not queue:
                queue.extend(itertools.islice(source, int(rate * AHEAD_SECONDS)))
                queue.reverse()
            sid, seq, request = queue.pop()
            last[sid] = seq  # taken by a connection: it is sent
            yield request

    async def run() -> Sent:
        sent = Sent()
        requests = signed_ahead()
        await asyncio.sleep(max(0.0, start - time.time()))
        await post_all(port, requests, rate, sent, stop)
        return sent

    sent = asyncio.run(run())
    out.put((sent.answered, sent.refused, last, sent.answered / max(time.time() - start, 1e-3)))


@dataclass
class Round:
    kind: str
    gaps: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    passes: list[float] = field(default_factory=list)
    pass_cpu: list[float] = field(default_factory=list)  # its own work's CPU
    visible: list[float] = field(default_factory=list)
    cpu: float = 0.0
    speech_rate: float = 0.0
    failed: list[str] = field(default_factory=list)


def open_page(browser: Browser, url: str, probes: int) -> Page:
    """A Floor page filtered to the probe agent, with the observer of its footer."""
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.goto(url)
    page.get_by_text("Live calls", exact=True).wait_for(timeout=PAGE_WAIT_MS)
    page.get_by_placeholder("search").fill(PROBE_AGENT)
    page.get_by_placeholder("search").press("Enter")
    shown = re.compile(rf"^{probes} of {probes} calls shown")
    page.get_by_text(shown).wait_for(timeout=PAGE_WAIT_MS)
    page.wait_for_timeout(1500)
    page.evaluate(OBSERVER)
    return page


def probe(port: int, http: httpx.Client, pages: list[Page], n: int) -> tuple[list[float], Call]:
    """A new probe call (caller, probe agent, start): its first callback to its row counted
    in each page, in ms."""
    sid = "CF" + uuid.uuid4().hex
    call = Call(sid, "WT" + sid[-8:], "CA" + uuid.uuid4().hex, "CA" + uuid.uuid4().hex,
                f"agent:{PROBE_AGENT}")  # fmt: skip
    now = datetime.now(UTC)
    callbacks = [
        call.event("participant-join", call.customer, now),
        call.event("participant-join", call.agent, now),
        call.event("conference-start", None, now),
    ]
    started = time.time() * 1000
    for params in callbacks:
        url = f"http://127.0.0.1:{port}{PATH}"
        signature = compute(AUTH_TOKEN.encode(), url, params.items())
        answer = http.post(url, data=params, headers={"X-Twilio-Signature": signature})
        assert answer.status_code < 300, answer.status_code
    out = []
    for page in pages:
        deadline, seen = time.monotonic() + 15, None
        while seen is None and time.monotonic() < deadline:
            seen = page.evaluate(f"window.__shown['{n}']")
            time.sleep(0.02)
        out.append(seen - started if seen is not None else float("inf"))
    return out, call


def applied(url: str, namespace: str, calls: list[Call]) -> int:
    """SequenceNumbers applied, over every call (each conference's bitmap of them)."""
    client = redis_sync.Redis.from_url(url)
    keys = Keys(namespace)
    total = 0
    for first in range(0, len(calls), 1000):
        pipe = client.pipeline(transaction=False)
        for c in calls[first : first + 1000]:
            pipe.bitcount(keys.seen(c.sid))
        total += sum(pipe.execute())
    client.close()
    return total


def metrics_pass_ms(url: str) -> tuple[float, float] | None:
    """The last board pass's (wall, CPU of its own work) in ms, from the service's /metrics."""
    try:
        text = httpx.get(url + "/metrics", timeout=5).text
    except httpx.HTTPError:
        return None  # the service too busy to answer in time: a sample missed
    found = {}
    for line in text.splitlines():
        if line.startswith(("earpiece_board_pass_seconds ", "earpiece_board_pass_cpu_seconds ")):
            name, value = line.split()
            found[name] = float(value) * 1000
    if len(found) < 2:
        return None
    return found["earpiece_board_pass_seconds"], found["earpiece_board_pass_cpu_seconds"]


def fill(port: int, events: list[dict[str, str]]) -> tuple[Sent, float]:
    """The floor's callbacks, as fast as the service answers them."""
    requests = [request_bytes(port, params) for params in events]  # signed before sending
    sent = Sent()
    started = time.monotonic()
    asyncio.run(post_all(port, iter(requests), None, sent, None))
    return sent, time.monotonic() - started


def a_round(
    args: Any, url: str, namespace: str, port: int, calls: list[Call], old: bool,
    env: dict[str, str], probes: list[Call], dash_url: str, browser: Browser,
) -> tuple[Round, int, int]:  # fmt: skip
    """One kind of board hub under the whole load; (its numbers, callbacks sent and
    answered 2xx in the round, speech included)."""
    kind = "full read (before)" if old else "kept from the feed"
    module = "bench.full_read_board" if old else "earpiece.cli"
    result = Round(kind)
    context = multiprocessing.get_context("spawn")
    with service(url, namespace, port, module) as running:
        stop, out = context.Event(), context.Queue()
        talker = context.Process(target=speech, args=(port, calls, args.rate, stop, out))
        talker.start()
        pages = []
        for _ in range(args.pages):
            try:
                pages.append(
                    open_page(
                        browser, f"{dash_url}/?{signin_query(url, namespace, 'mina')}", len(probes)
                    )
                )
            except PlaywrightError as exc:
                result.failed.append(f"a page never showed the floor: {str(exc)[:120]}")
        crowd = Crowd(running.url, args.watchers)
        # Measured once every watcher has its first (whole) view (bench/board_pass.py).
        first = crowd.first_views(FIRST_VIEWS_SECONDS)
        print(f"  every watcher's first view after {first:.1f} s")
        time.sleep(1)
        pids = process_tree(running.process.pid)
        start, cpu = time.monotonic(), cpu_seconds(pids)
        http = httpx.Client(timeout=30)
        while time.monotonic() - start < args.seconds or (
            pages and len(result.visible) < args.probes * len(pages)
        ):
            if pages and len(result.visible) < args.probes * len(pages):
                seen, call = probe(port, http, pages, len(probes) + 1)
                probes.append(call)
                result.visible += seen
            if (sample := metrics_pass_ms(running.url)) is not None:
                result.passes.append(sample[0])
                result.pass_cpu.append(sample[1])
            time.sleep(0.25 + random.random() * 0.5)  # arrivals off the pass rhythm
        end = time.monotonic()
        result.cpu = (cpu_seconds(pids) - cpu) / (end - start)
        stop.set()
        answered, refused, last, result.speech_rate = out.get(timeout=60)
        talker.join(30)
        crowd.stop()
        http.close()
        for page in pages:
            page.close()
        time.sleep(1)  # the last answered callbacks are applied (answered = applied)
    for c in calls:
        c.seq = last[c.sid]
    sent = answered + sum(refused.values())
    result.failed += crowd.failed + [f"{n} answered {status}" for status, n in refused.items()]
    for times in crowd.times:
        seen_at = [start] + [t for t in times if start <= t <= end] + [end]
        result.gaps.append(max(b - a for a, b in itertools.pairwise(seen_at)))
        result.rates.append((len(seen_at) - 2) / (end - start))
    return result, sent, answered


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conferences", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=1000, help="speech callbacks a second")
    parser.add_argument("--seconds", type=float, default=30, help="measured per round")
    parser.add_argument("--watchers", type=int, default=100)
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--probes", type=int, default=20, help="new calls timed per round")
    args = parser.parse_args()

    namespace = "pages" + uuid.uuid4().hex[:6]
    calls, events = floor_calls(args.conferences, random.Random(29))
    port = free_port()
    print(f"load average at start: {os.getloadavg()}")
    with redis_url() as url:
        client = redis_sync.Redis.from_url(url)
        before = int(client.info("memory")["used_memory"])
        with service(url, namespace, port):
            filled, took = fill(port, events)
        used = int(client.info("memory")["used_memory"]) - before
        client.close()
        print(f"floor: {args.conferences} live calls from {len(events)} signed callbacks over "
              f"HTTP in {took:.1f} s ({len(events) / took:.0f}/s; {filled.answered} answered "
              f"2xx); Redis memory {used / 2**20:.1f} MB, {used / args.conferences / 1024:.1f} "
              f"KB per live call (documents, indexes, timelines and the feed)")  # fmt: skip
        env = {
            **os.environ, "REDIS_URL": url, "EARPIECE_NAMESPACE": namespace,
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_API_BASE_URL": f"http://127.0.0.1:{free_port()}",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "EARPIECE_SESSION_SECRET": secrets.token_urlsafe(32), "EARPIECE_DEMO": "true",
            "EARPIECE_ROSTER": ROSTER,
        }  # fmt: skip
        rounds, sent, answered = [], filled.answered, filled.answered
        probes: list[Call] = []
        with dashboard(env) as dash, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            for old in (True, False):
                found, s, a = a_round(args, url, namespace, port, calls, old, env, probes,
                                      dash.url, browser)  # fmt: skip
                rounds.append(found)
                sent, answered = sent + s, answered + a
            browser.close()
        expected = sum(c.seq for c in calls) + sum(c.seq for c in probes)
        got = applied(url, namespace, calls + probes)
    print(f"load average at end: {os.getloadavg()}")
    report(args, rounds, sent, answered, expected, got)


def report(args: Any, rounds: list[Round], sent: int, answered: int, expected: int,
           got: int) -> None:  # fmt: skip
    print(f"\ncallbacks: {sent} sent, {answered} answered 2xx, {expected} SequenceNumbers sent "
          f"and {got} applied: {expected - got + sent - answered} lost")  # fmt: skip
    print(f"\n{args.conferences} live calls, {args.rate:.0f} speech callbacks/s asked, "
          f"{args.watchers} watchers (5 views), {args.pages} chromium pages; "
          f"{args.seconds:.0f} s a round")  # fmt: skip
    for r in rounds:
        every = sum(g <= 1.0 for g in r.gaps)
        print(f"  {r.kind}:")
        print(f"    watchers updated at least once a second: {every}/{len(r.gaps)}; longest gap "
              f"p50 {statistics.median(r.gaps):.2f} s, max {max(r.gaps):.2f} s; updates/s min "
              f"{min(r.rates):.1f}")  # fmt: skip
        print(
            f"    new call visible in a real page: p50 {percentile(r.visible, 50):.0f} ms, "
            f"p95 {percentile(r.visible, 95):.0f} ms ({len(r.visible)} sightings)"
        )
        missed = sum(v == float("inf") for v in r.visible)
        if missed:
            print(f"    {missed} sightings missed (not in the page within 15 s)")
        print(f"    board pass (sampled): p50 {percentile(r.passes, 50):.0f} ms, p95 "
              f"{percentile(r.passes, 95):.0f} ms; its own work's CPU p50 "
              f"{percentile(r.pass_cpu, 50):.0f} ms, p95 {percentile(r.pass_cpu, 95):.0f} ms; "
              f"service CPU {r.cpu:.2f} cores; speech answered {r.speech_rate:.0f}/s")  # fmt: skip
        if r.failed:
            print(f"    {len(r.failed)} failures, e.g. {r.failed[0]}")
    before, after = rounds
    ok = (
        expected == got and sent == answered
        and all(g <= 1.0 for g in after.gaps)
        and percentile(after.visible, 95) < TARGET_VISIBLE_MS
        and percentile(after.passes, 95) < TARGET_PASS_MS
    )  # fmt: skip
    print(
        "  (a pass's own work leaves out the reads: the full read renders every document "
        "while reading, the kept floor renders each call that changed as it catches up, "
        "before its own work)"
    )
    passes = percentile(before.passes, 95) / max(percentile(after.passes, 95), 0.1)
    visible = percentile(before.visible, 95) / max(percentile(after.visible, 95), 0.1)
    print(f"  ratio before/after: pass p95 {passes:.1f}x, visible p95 {visible:.1f}x, service "
          f"CPU {before.cpu / max(after.cpu, 0.01):.1f}x; targets: "
          f"{'met' if ok else 'NOT all met'}")  # fmt: skip


if __name__ == "__main__":
    main()
