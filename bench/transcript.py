"""Live transcripts at floor scale (issue 15), one run, side by side.

0. Matching (issue 23): a team's phrases matched against a line, and the line masked, in
   this process: p95 per English line and per Japanese line (target < 1 ms).
1. Ingest: the same service takes signed conference callbacks and signed transcription
   callbacks in English and in Japanese (distinct, replayed by wrk, each sent once, each
   round its own), in alternating rounds: requests/s of each, and their ratio to the
   conference callbacks (target: transcripts >= conference callbacks, in either language).
2. Latency: 500 live calls transcribed at once, every call saying a line every few
   seconds (partials, then the final), while 30 call pages follow one call each on
   `/events/transcript` (raw sockets in a separate process, as the browser's EventSource
   reads it). Time from just before a final's callback is posted to its line arriving
   at the page: p50 / p95 / p99 (target p95 < 1 s).
3. Memory: Redis bytes per transcribed live call (MEMORY USAGE of its transcript keys
   and conference document), and the bound: a call that said 1,000 lines keeps 400.

    python -m bench.transcript [--calls 500] [--pages 30] [--seconds 30] [--round-seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx

from bench.common import (
    API_TOKEN,
    AUTH_TOKEN,
    Floor,
    callbacks_service,
    percentile,
    personal_key,
    redis_url,
)
from bench.ingest import wrk
from callbacks.signature import compute
from core.redis_client import RedisTarget, sync_client

CONFERENCE_PATH = "/twilio/conference-events"
TRANSCRIPT_PATH = "/twilio/transcription-events"
WORDS = ("I", "would", "like", "to", "check", "the", "balance", "on", "my", "account", "please",
         "and", "also", "ask", "about", "the", "new", "plan", "we", "talked", "about")  # fmt: skip


# Japanese lines as a ja-JP engine writes them (no spaces). The ingest rounds say none of
# the team's phrases, as the English lines say none (a phrase hit costs the same in either
# language: the conference on the feed); the matching times lines with them too.
JA_PARTS = ("お電話ありがとうございます", "請求が二重になっています", "契約の内容を確認したい",
            "カード番号をお願いします", "住所を変更したいです", "クレームブリュレが届きません",
            "明日の午前中にお願いします", "もう三回目ですよ", "確認いたします",
            "少々お待ちください", "かしこまりました", "ちかいやくそくがあります")  # fmt: skip
JA_ALERTS = ("解約したいです", "責任者を出してください", "ｸﾚｰﾑを言いたいんですけど",
             "かいやくの手続きは")  # fmt: skip


BENCH_ROSTER = """
[teams.bench]
queue = "bench"
agents = ["bob", "carol"]
transcribe = "off"
phrases = ["cancel my account", "speak to your manager", "解約", "責任者", "クレーム"]
not_phrases = ["クレーム対応"]

[supervisors.mina]
role = "manager"
"""


def iso_now() -> str:
    return datetime.now(tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Calls:
    """Live calls on the service's floor, and their transcription callbacks."""

    def __init__(self, url: str, count: int) -> None:
        self.url = url
        self.floor = Floor(url)
        self.conferences: list[tuple[str, str]] = []  # (ConferenceSid, customer CallSid)
        self.seq: dict[str, int] = {}
        self.gt: dict[str, str] = {}
        self.count = count

    def seed(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            for _ in range(self.count):
                events = self.floor.conference(participants=2, end=False)
                for params in events:
                    signature, body = self.floor.signed(params)
                    http.post(CONFERENCE_PATH, content=body, headers={
                        "X-Twilio-Signature": signature,
                        "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
                cf = events[0]["ConferenceSid"]
                customer = events[0]["CallSid"]
                self.conferences.append((cf, customer))
                self.gt[customer] = "GT" + uuid.uuid4().hex
                self.seq[customer] = 1

    def content(self, customer: str, words: str, final: bool, track: str,
                language: str = "en-US") -> dict[str, str]:  # fmt: skip
        self.seq[customer] += 1
        return {
            "AccountSid": "AC" + "0" * 32, "CallSid": customer,
            "TranscriptionSid": self.gt[customer], "Timestamp": iso_now(),
            "SequenceId": str(self.seq[customer]), "TranscriptionEvent": "transcription-content",
            "Track": track, "Final": str(final).lower(), "LanguageCode": language,
            "TranscriptionData": json.dumps({"transcript": words, "confidence": 0.9}),
        }  # fmt: skip

    def utterance(self, customer: str, rng: random.Random) -> list[dict[str, str]]:
        """Two partials and the final of one line, as Twilio sends them."""
        words = rng.sample(WORDS, rng.randint(6, 12))
        track = rng.choice(("inbound_track", "outbound_track"))
        return [self.content(customer, " ".join(words[:3]), False, track),
                self.content(customer, " ".join(words[:6]), False, track),
                self.content(customer, " ".join(words), True, track)]  # fmt: skip

    def utterance_ja(self, customer: str, rng: random.Random) -> list[dict[str, str]]:
        """The same in Japanese: partials that grow by characters, then the final."""
        said = "、".join(rng.sample(JA_PARTS, rng.randint(1, 3)))
        track = rng.choice(("inbound_track", "outbound_track"))
        third = max(1, len(said) // 3)
        return [self.content(customer, said[:third], False, track, "ja-JP"),
                self.content(customer, said[: 2 * third], False, track, "ja-JP"),
                self.content(customer, said, True, track, "ja-JP")]  # fmt: skip

    def signed(self, params: dict[str, str], path: str) -> tuple[str, str]:
        return compute(AUTH_TOKEN.encode(), self.url + path, params.items()), urlencode(params)


def write_files(calls: Calls, folder: Path, count: int) -> tuple[Path, Path, Path]:
    """Distinct conference callbacks (speech turns on the live calls) and distinct transcript
    callbacks (utterances on the same calls, in English and in Japanese), `count` of each."""
    rng = random.Random(1)
    folder.mkdir(parents=True, exist_ok=True)
    conf_file, tx_file = folder / "conference.tsv", folder / "transcript.tsv"
    ja_file = folder / "transcript-ja.tsv"
    with conf_file.open("w") as out:
        written = 0
        while written < count:
            for params in calls.floor.conference(participants=2, speech_pairs=6):
                signature, body = calls.floor.signed(params)
                out.write(f"{signature}\t{body}\n")
                written += 1
    with tx_file.open("w") as out:
        written = 0
        while written < count:
            for _, customer in calls.conferences:
                for params in calls.utterance(customer, rng):
                    signature, body = calls.signed(params, TRANSCRIPT_PATH)
                    out.write(f"{signature}\t{body}\n")
                    written += 1
    with ja_file.open("w") as out:
        written = 0
        while written < count:
            for _, customer in calls.conferences:
                for params in calls.utterance_ja(customer, rng):
                    signature, body = calls.signed(params, TRANSCRIPT_PATH)
                    out.write(f"{signature}\t{body}\n")
                    written += 1
    return conf_file, tx_file, ja_file


def matching(lines: int = 20_000) -> dict[str, list[float]]:
    """Seconds per line to match the bench team's phrases and mask it, as the webhook does
    (live/transcript.py), English lines and Japanese lines."""
    from live import redact
    from live.phrases import Matcher
    from live.roster import parse

    team = parse(BENCH_ROSTER).teams["bench"]
    matcher = Matcher.of(team.phrases, team.not_phrases)
    rng = random.Random(2)
    samples = {
        "English": [" ".join(rng.sample(WORDS, rng.randint(6, 12))) + " cancel my account"
                    for _ in range(200)],
        "Japanese": ["、".join(rng.sample(JA_PARTS + JA_ALERTS, rng.randint(1, 3)))
                     for _ in range(200)],
    }  # fmt: skip
    out: dict[str, list[float]] = {}
    for name, texts in samples.items():
        matcher.matches(texts[0])  # the analyser's dictionary loaded before timing
        took = []
        for n in range(lines):
            text = texts[n % len(texts)]
            started = time.perf_counter()
            matcher.matches(text)
            redact.prepare(text)
            took.append(time.perf_counter() - started)
        out[name] = took
    return out


# -- the pages: a separate process reading raw sockets --------------------------------


async def _page(host: str, port: int, key: str, sid: str, seen: dict[str, float]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write((f"GET /events/transcript?sid={sid} HTTP/1.1\r\nHost: {host}\r\n"
                  f"Authorization: Bearer {key}\r\n\r\n").encode())  # fmt: skip
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")
    buf = b""
    while True:
        data = await reader.read(1 << 16)
        if not data:
            return
        now = time.monotonic()
        buf += data
        while b"\r\n\r\n" in buf:
            event, buf = buf.split(b"\r\n\r\n", 1)
            if b"event: transcript" not in event:
                continue
            line = json.loads(event.split(b"data: ", 1)[1].split(b"\r\n")[0])["line"]
            if line["final"]:
                seen.setdefault(line["id"], now)


async def _pages_main(url: str, key: str, sids: list[str], seconds: float) -> None:
    host, port = url.removeprefix("http://").split(":")
    seen: dict[str, float] = {}
    tasks = [asyncio.create_task(_page(host, int(port), key, sid, seen)) for sid in sids]
    print("ready", flush=True)
    await asyncio.sleep(seconds)
    for t in tasks:
        t.cancel()
    print(json.dumps(seen), flush=True)


def pages_process(url: str, key: str, sids: list[str], seconds: float) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "bench.transcript", "--pages-of", url, "--key", key,
           "--seconds", str(seconds), *sids]  # fmt: skip
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


async def talk(calls: Calls, seconds: float, every: float, watched: set[str]) -> dict[str, float]:
    """Every call says a line every `every` s on average (partials 0.3 s apart, then the
    final); returns {line id: monotonic time just before its final was posted}, for the
    watched calls."""
    sent: dict[str, float] = {}
    rng = random.Random(2)
    limits = httpx.Limits(max_connections=256)
    async with httpx.AsyncClient(base_url=calls.url, timeout=30, limits=limits) as http:

        async def post(params: dict[str, str]) -> None:
            signature, body = calls.signed(params, TRANSCRIPT_PATH)
            before = time.monotonic()
            answer = await http.post(TRANSCRIPT_PATH, content=body, headers={
                "X-Twilio-Signature": signature,
                "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
            assert answer.status_code == 204, answer.text
            if params["Final"] == "true" and params["CallSid"] in watched:
                sent[f"{params['TranscriptionSid']}:{params['SequenceId']}"] = before

        async def one_call(customer: str) -> None:
            await asyncio.sleep(rng.uniform(0, every))
            ends = time.monotonic() + seconds
            while time.monotonic() < ends:
                for params in calls.utterance(customer, rng):
                    await post(params)
                    await asyncio.sleep(0.3)
                await asyncio.sleep(rng.uniform(0.5, 2 * every - 0.9))

        await asyncio.gather(*(one_call(c) for _, c in calls.conferences))
    return sent


def memory(redis: str, namespace: str, calls: Calls) -> tuple[float, float]:
    """Mean bytes per call of its transcript keys, and of its conference document."""
    client = sync_client(RedisTarget(redis, False, None))
    try:
        tx = doc = 0
        for cf, _ in calls.conferences:
            tag = "{" + namespace + "}"
            for key in (f"{tag}:txi:{cf}", f"{tag}:txl:{cf}", f"{tag}:txr:{cf}"):
                tx += client.memory_usage(key) or 0
            doc += client.memory_usage(f"{tag}:conf:{cf}") or 0
        return tx / len(calls.conferences), doc / len(calls.conferences)
    finally:
        client.close()


def bound(redis: str, namespace: str, calls: Calls) -> tuple[int, int]:
    """One call says 1,000 lines: how many it keeps, and their bytes."""
    cf, customer = calls.conferences[0]
    rng = random.Random(3)
    with httpx.Client(base_url=calls.url, timeout=30) as http:
        for _ in range(1000):
            params = calls.utterance(customer, rng)[-1]
            signature, body = calls.signed(params, TRANSCRIPT_PATH)
            http.post(TRANSCRIPT_PATH, content=body, headers={
                "X-Twilio-Signature": signature,
                "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    client = sync_client(RedisTarget(redis, False, None))
    try:
        tag = "{" + namespace + "}"
        kept = int(client.zcard(f"{tag}:txi:{cf}"))
        size = sum(client.memory_usage(f"{tag}:{k}:{cf}") or 0 for k in ("txi", "txl", "txr"))
        return kept, size
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=30, help="of talk, for the latency")
    parser.add_argument("--every", type=float, default=5.0, help="s between a call's lines")
    parser.add_argument("--round-seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--pages-of", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("sids", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pages_of:
        asyncio.run(_pages_main(args.pages_of, args.key, args.sids, args.seconds))
        return

    matched = matching()
    folder = Path(tempfile.mkdtemp(prefix="ep-bench-"))
    try:
        with redis_url() as redis:
            namespace = "btx" + uuid.uuid4().hex[:6]
            # The bench posts the transcription callbacks itself: Earpiece must not try to
            # start transcriptions (at a Twilio it cannot reach) for the calls pages watch.
            roster = folder / "roster.toml"
            roster.write_text(BENCH_ROSTER, encoding="utf-8")
            # One supervisor opens every page here: their fair share of streams is lifted.
            with callbacks_service(redis, namespace, EARPIECE_ROSTER=str(roster),
                                   EARPIECE_STREAMS_PER_PERSON="10000") as service:  # fmt: skip
                calls = Calls(service.url, args.calls)
                calls.seed()
                key = personal_key(redis, namespace, "mina", roster)
                watched = calls.conferences[: args.pages]
                pages = pages_process(service.url, key, [cf for cf, _ in watched],
                                      args.seconds + 10)  # fmt: skip
                time.sleep(1)
                sent = asyncio.run(talk(calls, args.seconds, args.every,
                                        {c for _, c in watched}))  # fmt: skip
                out, _ = pages.communicate(timeout=args.seconds + 60)
                seen = json.loads(out.strip().splitlines()[-1])
                per_call, per_doc = memory(redis, namespace, calls)
                kept, kept_bytes = bound(redis, namespace, calls)

                # Each round its own distinct callbacks (no round replays another's: a
                # repeat is a cheap duplicate, which would flatter the later rounds).
                files = [write_files(calls, folder / f"round{n}", 90_000) for n in range(3)]
                rounds: dict[str, list[float]] = {"conference": [], "transcript": [],
                                                  "transcript-ja": []}  # fmt: skip
                for conf_file, tx_file, ja_file in files:
                    for name, file, path in (
                        ("conference", conf_file, CONFERENCE_PATH),
                        ("transcript", tx_file, TRANSCRIPT_PATH),
                        ("transcript-ja", ja_file, TRANSCRIPT_PATH),
                    ):
                        result = wrk(service.url, file, args.round_seconds, args.connections,
                                     path)  # fmt: skip
                        if result["errors_status"]:
                            raise SystemExit(f"{name}: non-2xx answers during the run")
                        rounds[name].append(result["rps"])
                bearer = {"Authorization": f"Bearer {API_TOKEN}"}
                live = httpx.get(service.url + "/api/conferences", timeout=30,
                                 headers=bearer).json()  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    latencies = [seen[k] - sent[k] for k in sent if k in seen]
    missing = len([k for k in sent if k not in seen])
    print(
        f"transcript: {args.calls} calls transcribed at once, a line every ~{args.every:g} s "
        f"each (2 partials + final), {args.pages} call pages open, {args.seconds:g} s"
    )
    p50, p95, p99 = (percentile(latencies, p) * 1000 for p in (50, 95, 99))
    print(
        f"  final line -> open call page: {len(latencies)} lines, p50 {p50:.0f} ms, "
        f"p95 {p95:.0f} ms, p99 {p99:.0f} ms, worst {max(latencies) * 1000:.0f} ms; "
        f"not seen {missing}   (target p95 < 1000 ms)"
    )
    for name, took in matched.items():
        print(f"  phrases matched and line masked, {name}: {len(took)} lines, p50 "
              f"{percentile(took, 50) * 1e6:.0f} µs, p95 {percentile(took, 95) * 1e6:.0f} µs, "
              f"p99 {percentile(took, 99) * 1e6:.0f} µs   (target p95 < 1000 µs)")  # fmt: skip
    conf_rps = sum(rounds["conference"]) / len(rounds["conference"])
    tx_rps = sum(rounds["transcript"]) / len(rounds["transcript"])
    ja_rps = sum(rounds["transcript-ja"]) / len(rounds["transcript-ja"])
    print(f"  ingest, wrk -c{args.connections}, alternating rounds of {args.round_seconds} s: "
          f"conference callbacks {', '.join(f'{r:.0f}' for r in rounds['conference'])} req/s; "
          f"transcript callbacks {', '.join(f'{r:.0f}' for r in rounds['transcript'])} req/s; "
          f"ratio {tx_rps / conf_rps:.0%}; Japanese transcript callbacks "
          f"{', '.join(f'{r:.0f}' for r in rounds['transcript-ja'])} req/s, ratio "
          f"{ja_rps / conf_rps:.0%}   (target >= 100%)")  # fmt: skip
    print(f"  Redis per transcribed live call after {args.seconds:g} s: transcript "
          f"{per_call / 1024:.1f} KiB, conference document {per_doc / 1024:.1f} KiB; "
          f"a call that said 1,000 lines keeps {kept} ({kept_bytes / 1024:.0f} KiB)")  # fmt: skip
    print(f"  live calls after: {len(live['conferences'])}")


if __name__ == "__main__":
    main()
