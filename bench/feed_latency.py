"""Callback -> SSE latency under load: POST a callback, time its event at 50 subscribers.

A sender posts signed callbacks at a fixed rate (default 1,000/s), each one
the first join of a new conference, so that each makes exactly one
`conference` event. Subscribers (default 50, in a separate process, reading
raw sockets so that the client is not the bottleneck) note when each event
arrives. Latency = arrival - just before the POST, on the system-wide
monotonic clock. Prints p50/p99, and the same for an idle floor (one callback
at a time) side by side.

    python -m bench.feed_latency [--rate 1000] [--seconds 10] [--subscribers 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import API_TOKEN, Floor, callbacks_service, percentile, redis_url

PATH = "/twilio/conference-events"
GRACE_SECONDS = 2.0
MARK = b'event: conference\r\ndata: {"sid":"'


# -- subscriber process -------------------------------------------------------


async def _subscriber(host: str, port: int, seen: dict[str, float], ready: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    request = (f"GET /events HTTP/1.1\r\nHost: {host}\r\n"
               f"Authorization: Bearer {API_TOKEN}\r\n\r\n")  # fmt: skip
    writer.write(request.encode())
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")
    ready.set()
    tail = b""
    while True:
        data = await reader.read(1 << 16)
        if not data:
            return
        now = time.monotonic()
        buf = tail + data
        start = 0
        while True:
            i = buf.find(MARK, start)
            if i < 0 or i + len(MARK) + 34 > len(buf):
                break
            sid = buf[i + len(MARK) : i + len(MARK) + 34].decode()
            seen.setdefault(sid, now)
            start = i + len(MARK) + 34
        tail = buf[max(start, len(buf) - len(MARK) - 34) :]


async def _subscribe(url: str, count: int) -> list[dict[str, float]]:
    host, port = url.removeprefix("http://").split(":")
    seen: list[dict[str, float]] = [{} for _ in range(count)]
    readies = [asyncio.Event() for _ in range(count)]
    tasks = [
        asyncio.create_task(_subscriber(host, int(port), seen[i], readies[i])) for i in range(count)
    ]
    await asyncio.gather(*(r.wait() for r in readies))
    print("ready", flush=True)
    # Run until the sender says it is done (a line on stdin), then report.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for task in tasks:
        task.cancel()
    return seen


# -- sender -------------------------------------------------------------------


async def _connection(
    host: str, port: int, jobs: asyncio.Queue[tuple[str, bytes] | None], sent: dict[str, float]
) -> None:
    """One keep-alive connection posting pre-encoded requests, one at a time."""
    reader, writer = await asyncio.open_connection(host, port)
    while (job := await jobs.get()) is not None:
        sid, request = job
        sent[sid] = time.monotonic()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 20"):
            raise SystemExit(f"callback refused: {head[:60]!r}")
        if b"content-length: " in head.lower():
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
    writer.close()


async def _send(url: str, bodies: list[tuple[str, str, str]], rate: float) -> dict[str, float]:
    """Post at `rate`, spread over keep-alive connections; a raw client, so it keeps pace."""
    host, port = url.removeprefix("http://").split(":")
    sent: dict[str, float] = {}
    connections = 32
    queues: list[asyncio.Queue[tuple[str, bytes] | None]] = [
        asyncio.Queue() for _ in range(connections)
    ]
    workers = [asyncio.create_task(_connection(host, int(port), q, sent)) for q in queues]
    start = time.monotonic()
    for i, (sid, signature, body) in enumerate(bodies):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        request = (
            f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n"
            f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n{body}"
        ).encode()
        queues[i % connections].put_nowait((sid, request))
    for q in queues:
        q.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.monotonic() - start
    if elapsed > len(bodies) / rate * 1.1:
        print(f"warning: the sender fell behind ({len(bodies) / elapsed:.0f}/s)", file=sys.stderr)
    return sent


def _bodies(url: str, count: int) -> list[tuple[str, str, str]]:
    floor = Floor(url)
    out = []
    for _ in range(count):
        params = floor.conference(participants=1, end=False)[0]  # the first join
        signature, body = floor.signed(params)
        out.append((params["ConferenceSid"], signature, body))
    return out


def _measure(url: str, rate: float, seconds: float, subscribers: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "seen.json"
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.feed_latency", "--subscriber-of", url,
             "--subscribers", str(subscribers), "--out", str(out)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdout is not None and proc.stdin is not None
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit("subscribers did not connect")
        bodies = _bodies(url, int(rate * seconds))
        sent = asyncio.run(_send(url, bodies, rate))
        time.sleep(GRACE_SECONDS)  # let the last events arrive
        proc.stdin.write("done\n")
        proc.stdin.flush()
        proc.wait(30)
        seen: list[dict[str, float]] = json.loads(out.read_text())
    latencies = [(s[sid] - t) * 1000 for s in seen for sid, t in sent.items() if sid in s]
    expected = len(sent) * subscribers
    return {
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "max": max(latencies) if latencies else float("nan"),
        "received": len(latencies),
        "expected": expected,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--subscriber-of", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.subscriber_of:
        seen = asyncio.run(_subscribe(args.subscriber_of, args.subscribers))
        Path(args.out).write_text(json.dumps(seen))
        return

    # Every subscriber here is the service token, one "person": its fair share of streams
    # (EARPIECE_STREAMS_PER_PERSON) is lifted to the bench's subscribers.
    share = {"EARPIECE_STREAMS_PER_PERSON": "100000"}
    with redis_url() as redis, callbacks_service(redis, "bench" + uuid.uuid4().hex[:6],
                                                 settings=share) as service:  # fmt: skip
        idle = _measure(service.url, rate=20, seconds=3, subscribers=args.subscribers)
        loaded = _measure(service.url, args.rate, args.seconds, args.subscribers)

    print(f"callback POST -> SSE event, {args.subscribers} subscribers, one uvicorn worker")
    print(f"{'load':<28}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'received':>18}")
    for name, r in (("20 callbacks/s (idle)", idle), (f"{args.rate:.0f} callbacks/s", loaded)):
        got = f"{r['received']}/{r['expected']}"
        print(f"{name:<28}{r['p50']:>10.1f}{r['p99']:>10.1f}{r['max']:>10.1f}{got:>18}")
    print(f"p99 under load vs target 25 ms: {loaded['p99'] / 25:.2f}x of the budget")
    if loaded["received"] != loaded["expected"]:
        sys.exit("some events never reached a subscriber")


if __name__ == "__main__":
    main()
