"""What leaves the service: customers' numbers masked unless the reader's role may see them,
no caching of live calls, bounded bodies, a health check that names nothing, a feed kept
by age, and CSV and Markdown that a hostile string cannot turn into a formula or markup."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from pathlib import Path

from httpx_sse import connect_sse

from core.audit import cell, to_csv
from core.keys import Keys
from core.redis_client import RedisTarget, sync_client
from dashboard.text import literal
from live.roster import load as load_roster
from tests.conftest import Wired

ROSTER_WITH_ACCESS = (
    Path(__file__).resolve().parents[2] / "earpiece" / "demo_roster.toml"
).read_text() + '\n[access]\nfull_numbers = ["manager"]\n'


def _number_of(conference: dict[str, object]) -> str | None:
    for p in conference["participants"]:  # type: ignore[attr-defined]
        if p["role"] == "customer":
            return p["number"]  # type: ignore[no-any-return]
    return None


def test_numbers_are_masked_unless_the_roster_lets_the_role_see_them(
    wiring: Callable[..., Wired], tmp_path: Path
) -> None:
    roster = tmp_path / "roster.toml"
    roster.write_text(ROSTER_WITH_ACCESS)
    wired = wiring(EARPIECE_ROSTER=str(roster))
    call = wired.new_call("bob")
    sid = call["conference_sid"]
    wired.wait(lambda: _number_of(wired.conference(sid) or {"participants": []}) is not None)
    with wired.api("mina") as http:  # a manager: full numbers
        full = _number_of(http.get(f"/api/conferences/{sid}").json())
    with wired.api("ana") as http:  # a lead: masked
        masked = _number_of(http.get(f"/api/conferences/{sid}").json())
        listed = http.get("/api/conferences").json()["conferences"]
    service = _number_of(wired.conference(sid) or {})  # the service token: masked
    assert full is not None and full.startswith("+") and "•" not in full
    assert masked == service and masked is not None and "•" in masked
    assert masked.endswith(full[-4:]) and full[:-4] not in masked
    assert _number_of(next(c for c in listed if c["sid"] == sid)) == masked
    # The SSE feed follows the same rule, per reader.
    for who, expected in (("ana", masked), ("mina", full)):
        with wired.api(who) as http, connect_sse(http, "GET", "/events") as source:
            wired.act(sid, "mute", call["agent_call_sid"])
            for event in source.iter_sse():
                if event.event == "conference" and sid in event.data:
                    assert _number_of(json.loads(event.data)) == expected
                    break
            wired.act(sid, "unmute", call["agent_call_sid"])


def test_api_answers_are_not_stored_and_bodies_are_bounded(wired: Wired) -> None:
    call = wired.new_call("bob")
    with wired.api("mina") as http:
        for path in ("/api/conferences", f"/api/conferences/{call['conference_sid']}",
                     "/api/audit", "/api/queues", "/healthz"):  # fmt: skip
            answer = http.get(path)
            assert answer.headers["cache-control"] == "no-store", path
            assert answer.headers["x-content-type-options"] == "nosniff"
        huge = b'{"mode": "listen", "pad": "' + b"x" * (20 * 1024 * 1024) + b'"}'
        answer = http.post(f"/api/conferences/{call['conference_sid']}/monitors", content=huge)
        assert answer.status_code == 413
        assert answer.json()["error"]["code"] == "too-large"
        # A start long before any entry means everything kept, not an error.
        early = http.get("/api/audit", params={"since": "1969-12-31T00:00:00Z"})
        assert early.status_code == 200
        assert http.get("/api/audit", params={"since": "99999-01-01"}).status_code == 422
    with wired.service.client() as http:
        health = http.get("/healthz")
    assert health.json() == {"redis": "ok"}  # nothing about where Redis is


def test_the_feed_is_trimmed_by_age(wired: Wired) -> None:
    import asyncio

    from core.redis_client import async_client
    from live.store import LiveFloor

    sid_ = wired.new_call("bob")["conference_sid"]
    # Both legs in and every callback applied: the feed holds still while it is measured (in
    # a loaded run the agent's join landed between the two counts).
    wired.wait(lambda: len((wired.conference(sid_) or {}).get("participants") or ()) == 2)
    wired.sim.drain()
    settings = wired.service.settings
    assert settings is not None and settings.redis_url is not None
    target = RedisTarget(settings.redis_url, False, None)
    redis = sync_client(target)
    feed = Keys(settings.namespace).feed
    try:
        before = redis.xlen(feed)
        assert before > 0

        async def trim(age: float) -> None:
            client = async_client(target)
            await LiveFloor(client, namespace=settings.namespace,
                            roster=load_roster(None)).trim_feed(age)  # fmt: skip
            await client.aclose()

        asyncio.run(trim(3600))  # everything is younger than an hour: kept
        assert redis.xlen(feed) == before
        time.sleep(0.05)
        asyncio.run(trim(0.01))  # older than 10 ms: gone (XTRIM MINID, whole macro nodes)
        assert redis.xlen(feed) < before
    finally:
        redis.close()


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised() -> None:
    hostile = ['=HYPERLINK("http://evil.example","click")', "+1+1", "-2+3", "@SUM(A1)",
               "\tTAB", "\rCR", "plain", "a=b"]  # fmt: skip
    assert [cell(h) for h in hostile] == ["'" + h for h in hostile[:6]] + ["plain", "a=b"]
    text = to_csv([{"id": "1-0", "detail": hostile[0], "supervisor": "@ana"}])
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["detail"].startswith("'=") and row["supervisor"] == "'@ana"
    # What a spreadsheet skips before the formula, and full-width signs it reads as ASCII.
    disguised = [" =1+1", "\u00a0=1+1", "\n=1+1", "\u3000+1", "\u200b@SUM(A1)", "\uff1d1+1",
                 "\uff0b1", "\uff0d1", "\uff20SUM(A1)", " \t=1", "\r\n-1"]  # fmt: skip
    assert [cell(h) for h in disguised] == ["'" + h for h in disguised]
    assert [cell(h) for h in (" plain", "\u00a0a=b", "\uff58=1", "")] == [" plain", "\u00a0a=b",
                                                                        "\uff58=1", ""]  # fmt: skip


def test_markdown_is_shown_as_text() -> None:
    import html
    import string

    card = "![x](http://evil.example/a.png) [Sign in again](www.evil.example) :red[LIVE] **b**"
    shown = literal(card + "\n\n# heading")
    # No punctuation is left for a Markdown parser to read as syntax (links, images, bare
    # URLs, directives, emphasis, headings), and no line break can start a block.
    assert not set(shown.replace("&#", "").replace(";", "")) & set(string.punctuation)
    assert "\n" not in shown
    # What it shows is exactly the text.
    assert html.unescape(shown).replace("\u2060", "") == " ".join((card + " # heading").split())
