"""The archive at QA scale (issue 16), one run, side by side.

1. Search: a generated archive of --calls ended calls (default 1,000,000: 50 agents in 5
   teams over 90 days, one of them Japanese; a third transcribed with lines from the
   simulator's dialogues and random words, in the team's language, indexed as the archiver
   indexes them: archive/words.py) in the embedded SQLite store; then filtered searches as
   QA types them (a phrase, a phrase and a team, an agent and a date range, an alert,
   monitored calls, a phrase nobody said; and Japanese words, in full- or half-width and
   kana variants), each timed --rounds times: p50 / p95 per kind, over all, and over the
   Japanese ones (target p95 < 300 ms).
2. Writing a finished call: `put` of one record into the 1,000,000-call store, timed.
   The archiver does it off the end callback's path (which pays one ZADD inside the
   script that ends the call), EARPIECE_ARCHIVE_SETTLE_SECONDS (5) after the end.
3. Storage per stored call, with and without transcript (two stores of 20,000 calls each:
   the file size over the count).

    python -m bench.archive [--calls 1000000] [--rounds 30] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from archive.record import CallRecord
from archive.sqlite_store import SqliteStore
from archive.store import Search, Store
from archive.words import index_words
from bench.common import percentile
from twilio_sim.dialogues import DIALOGUES, JAPANESE

TEAMS = {
    name: [f"{name[:2]}{name[-1]}{n}" for n in range(10)]
    for name in ("sales-east", "sales-west", "support", "billing", "jp-support")
}
JA_TEAM = "jp-support"
JA_FILLER = ("はい", "そうですね", "少々お待ちください", "確認いたします", "ありがとうございます",
             "承知しました", "住所の件で", "今週中に", "問題ありません", "もちろんです",
             "お手数ですが", "明日の午前中")  # fmt: skip
FILLER = ("okay", "right", "sure", "let me check", "one moment", "thanks", "I see",
          "perfect", "the order", "my address", "that date", "this week", "no problem",
          "of course")  # fmt: skip
DAY_MS = 86_400_000
# A call's timeline as the archive keeps it (a typical one: joins, a hold, the end).
STORY = (("conference-start", "", "the call started"),
         ("participant-join", "customer", "the customer joined"),
         ("participant-join", "agent", "agent joined"),
         ("participant-hold", "customer", "the customer was put on hold"),
         ("participant-unhold", "customer", "the customer was taken off hold"),
         ("participant-leave", "customer", "the customer left"),
         ("conference-end", "", "the call ended"))  # fmt: skip
BATCH = 5_000


def records(count: int, seed: int, transcribed_share: float, now_ms: int) -> list[CallRecord]:
    rng = random.Random(seed)
    span = 90 * DAY_MS
    out = []
    for n in range(count):
        team = rng.choice(sorted(TEAMS))
        agent = rng.choice(TEAMS[team])
        ended = now_ms - span + (n * span) // max(1, count)  # archived in end order
        length = rng.randint(30, 1200)
        lines: list[dict[str, str]] = []
        if rng.random() < transcribed_share:
            japanese = team == JA_TEAM
            for who, said in rng.choice(JAPANESE if japanese else DIALOGUES):
                lines.append({"speaker": who, "text": said, "at": "", "final": "true"})
            for _ in range(rng.randint(5, 25)):
                lines.append(
                    {
                        "speaker": rng.choice(("customer", "agent")),
                        "text": ("、" if japanese else " ").join(
                            rng.sample(JA_FILLER if japanese else FILLER, 3)
                        ),
                        "at": "",
                        "final": "true",
                    }
                )
        alerts = tuple(sorted(rng.sample(["help", "phrase", "long-hold", "dead-air"],
                                         rng.choice((0, 0, 0, 1, 2)))))  # fmt: skip
        monitored = rng.random() < 0.15
        sid = f"CF{uuid.UUID(int=rng.getrandbits(128)).hex}"
        people = [{"call_sid": f"CA{n:032x}", "label": label, "role": label.split(":")[0],
                   "joined_at": "2026-11-27T10:00:00Z", "left_at": "2026-11-27T10:05:00Z",
                   "talk_seconds": 60.5, "hold_seconds": 0}
                  for label in ("customer", f"agent:{agent}")]  # fmt: skip
        timeline = [{"at": "2026-11-27T10:00:00Z", "event": e, "who": w, "text": t}
                    for e, w, t in STORY]  # fmt: skip
        queue = team.split("-")[0]
        doc = {"sid": sid, "agent": agent, "team": team, "queue": queue,
               "started_at": None, "ended_at": None, "duration_seconds": length,
               "customer": "+8190" + str(rng.randint(10_000_000, 99_999_999)),
               "alerts": list(alerts), "monitored": monitored,
               "monitors": [{"supervisor": "ana", "mode": "listen"}] if monitored else [],
               "transcript": lines, "recordings": [], "timeline": timeline,
               "participants": people}  # fmt: skip
        out.append(CallRecord(sid=sid, started_ms=ended - length * 1000, ended_ms=ended,
                              team=team, queue=queue, agent=agent, alerts=alerts,
                              monitored=monitored,
                              text=index_words(" ".join(line["text"] for line in lines)),
                              doc=doc))  # fmt: skip
    return out


def fill(store: SqliteStore, count: int, transcribed: float, now_ms: int) -> float:
    started = time.perf_counter()
    for first in range(0, count, BATCH):
        store.put_many(records(min(BATCH, count - first), first, transcribed, now_ms))
    return time.perf_counter() - started


def wide(ascii_text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in ascii_text)


def japanese_searches(now_ms: int, rng: random.Random) -> list[tuple[str, Search]]:
    agent = rng.choice(TEAMS[JA_TEAM])
    week = now_ms - rng.randint(7, 80) * DAY_MS
    until = week + 7 * DAY_MS
    word = rng.choice(["解約", "責任者", "クレーム", "弁護士", "カード番号", "二重の請求"])
    return [
        ("ja: word", Search(q=word)),
        ("ja: word + team", Search(q=word, team=JA_TEAM)),
        ("ja: word + agent + week", Search(q=word, agent=agent, since_ms=week, until_ms=until)),
        ("ja: katakana variant", Search(q="カイヤク")),
        ("ja: half-width kana", Search(q="ｸﾚｰﾑ")),
        ("ja: full-width letters", Search(q=wide("cancel my account"))),
        ("ja: unsaid word", Search(q="象の鼻" + rng.choice("赤青黄"))),
    ]


def searches(now_ms: int, rng: random.Random) -> list[tuple[str, Search]]:
    # QA searches a team's calls in the team's language (the Japanese ones above).
    team = rng.choice(sorted(t for t in TEAMS if t != JA_TEAM))
    agent = rng.choice(TEAMS[team])
    week = now_ms - rng.randint(7, 80) * DAY_MS
    phrase = rng.choice(["cancel my account", "speak to your manager", "switching to Globex",
                         "pay my overdue balance", "the security code"])  # fmt: skip
    until = week + 7 * DAY_MS
    return [
        ("phrase", Search(q=phrase)),
        ("phrase + team", Search(q=phrase, team=team)),
        ("phrase + agent + week", Search(q=phrase, agent=agent, since_ms=week, until_ms=until)),
        ("agent + week", Search(agent=agent, since_ms=week, until_ms=until)),
        ("alert + team", Search(alert="help", team=team)),
        ("monitored + long", Search(monitored=True, min_seconds=900)),
        ("unsaid phrase", Search(q="purple elephant " + uuid.uuid4().hex[:6])),
        ("lead's teams, phrase", Search(q=phrase, teams=(team,))),
        # Not in the target: an English phrase no call of the Japanese team says walks all of
        # that phrase's calls newest first before it knows the page is empty.
        ("(en phrase, ja team)", Search(q=phrase, team=JA_TEAM)),
    ]


async def timed(store: Store, rounds: int, now_ms: int) -> dict[str, list[float]]:
    rng = random.Random(9)
    out: dict[str, list[float]] = {}
    for _ in range(rounds):
        for kind, search in searches(now_ms, rng) + japanese_searches(now_ms, rng):
            started = time.perf_counter()
            await store.search(search)
            out.setdefault(kind, []).append(time.perf_counter() - started)
    return out


async def put_cost(store: Store, now_ms: int, count: int = 200) -> list[float]:
    out = []
    for record in records(count, 10**9, 0.33, now_ms):
        started = time.perf_counter()
        await store.put(record)
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--storage-calls", type=int, default=20_000)
    args = parser.parse_args()
    now_ms = int(time.time() * 1000)
    folder = Path(tempfile.mkdtemp(prefix="ep-bench-archive-"))
    try:
        sizes = {}
        for name, share in (("without transcript", 0.0), ("with transcript", 1.0)):
            small = SqliteStore(folder / f"{name.replace(' ', '-')}.sqlite3")
            fill(small, args.storage_calls, share, now_ms)
            asyncio.run(small.close())
            sizes[name] = sum(p.stat().st_size for p in folder.glob(
                f"{name.replace(' ', '-')}.sqlite3*")) / args.storage_calls  # fmt: skip
        big = SqliteStore(folder / "archive.sqlite3")
        took = fill(big, args.calls, 1 / 3, now_ms)
        size = sum(p.stat().st_size for p in folder.glob("archive.sqlite3*"))
        times = asyncio.run(timed(big, args.rounds, now_ms))
        puts = asyncio.run(put_cost(big, now_ms))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"archive: {args.calls:,} ended calls in the embedded SQLite store (a third "
        f"transcribed), generated in {took:.0f} s, {size / 2**30:.2f} GiB on disk"
    )
    everything: list[float] = []
    for kind, values in times.items():
        if not kind.startswith("("):
            everything += values
        print(f"  {kind:<24} p50 {percentile(values, 50) * 1000:7.1f} ms   "
              f"p95 {percentile(values, 95) * 1000:7.1f} ms")  # fmt: skip
    print(
        f"  all searches: {len(everything)}, p95 {percentile(everything, 95) * 1000:.1f} ms, "
        f"worst {max(everything) * 1000:.1f} ms   (target p95 < 300 ms)"
    )
    print("  (a parenthesised kind is shown, not counted: a search across languages)")
    japanese = [v for kind, values in times.items() if kind.startswith("ja:") for v in values]
    print(
        f"  Japanese searches: {len(japanese)}, p95 {percentile(japanese, 95) * 1000:.1f} ms, "
        f"worst {max(japanese) * 1000:.1f} ms   (target p95 < 300 ms)"
    )
    print(
        f"  writing one finished call into it: p50 {percentile(puts, 50) * 1000:.2f} ms, "
        f"p95 {percentile(puts, 95) * 1000:.2f} ms (off the end callback's path)"
    )
    for name, per_call in sizes.items():
        print(f"  storage per call {name}: {per_call / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
