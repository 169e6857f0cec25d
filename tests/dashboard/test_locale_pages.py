"""Issue 25 on the dashboard's pages (Streamlit's AppTest): a floor in Asia/Tokyo, calls
around its midnight, a Japanese-reading lead and an English-reading one, numbers from
Japan and abroad, agents by their roster names."""

from __future__ import annotations

import asyncio
import html
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from archive.sqlite_store import SqliteStore
from core.redis_client import RedisTarget
from core.settings import Settings, load
from dashboard.i18n import translations
from tests.conftest import SESSION_SECRET, Wired, wire
from tests.dashboard.test_dashboard_pages import app_as, board_data, texts
from tests.live.test_floor_locale import (
    ABROAD,
    JAPAN,
    archived,
    just_after_midnight_in_tokyo,
    served,
)

JA = translations("ja")  # the dashboard's Japanese catalogue, as ken's pages read it


@pytest.fixture
def tokyo_floor(
    redis_target: RedisTarget, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Wired, Settings, dict[str, str]]]:
    running = wire(redis_target, namespace, EARPIECE_TIMEZONE="Asia/Tokyo")
    env = {
        "REDIS_URL": redis_target.url, "EARPIECE_NAMESPACE": namespace,
        "PUBLIC_BASE_URL": served(running).base_url,
        "EARPIECE_SESSION_SECRET": SESSION_SECRET, "EARPIECE_DEMO": "true",
        "EARPIECE_ARCHIVE_URL": served(running).archive_url or "",
        "EARPIECE_DASHBOARD_REFRESH_SECONDS": "0.02", "EARPIECE_TIMEZONE": "Asia/Tokyo",
    }  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    after = just_after_midnight_in_tokyo()
    sids = {"today": f"CF{uuid.uuid4().hex}", "yesterday": f"CF{uuid.uuid4().hex}"}
    # Billing's agent tara (田中 愛 in the demo roster), at 00:10 today and 23:50 yesterday.
    records = [archived(sids["today"], after, JAPAN["090"], "billing", "tara"),
               archived(sids["yesterday"], after - timedelta(minutes=20), ABROAD["us"],
                        "billing", "tara")]  # fmt: skip
    url = served(running).archive_url or ""
    store = SqliteStore(Path(url.removeprefix("sqlite:///")))
    loop = asyncio.new_event_loop()
    try:
        for record in reversed(records):  # archived as they ended: yesterday's first
            loop.run_until_complete(store.put(record))
        loop.run_until_complete(store.close())
    finally:
        loop.close()
    yield running, load(env, env_file=None), sids
    running.stop()


def test_the_calls_page_counts_days_on_the_floor_clock(
    tokyo_floor: tuple[Wired, Settings, dict[str, str]],
) -> None:
    _, settings, sids = tokyo_floor
    after = just_after_midnight_in_tokyo()
    at = app_as(settings, "ken").run()  # a lead of billing, who reads Japanese
    at.switch_page("views/calls.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    ja = JA.gettext  # ken reads the column names in Japanese too (issue 25's catalogues)
    assert list(table[ja("SID")]) == [sids["today"], sids["yesterday"]]
    # In the floor's zone and ken's language; the agent by name; numbers the floor's way.
    assert list(table[ja("Ended")]) == [
        after.strftime("%Y/%m/%d 00:10:00 JST"),
        (after - timedelta(days=1)).strftime("%Y/%m/%d 23:50:00 JST"),
    ]
    assert set(table[ja("Agent")]) == {"田中 愛 (tara)"}
    assert list(table[ja("Customer")]) == ["090-••••-5678", "+1 202-••••-0123"]

    at.toggle(key="h-today").set_value(True).run()  # today on the floor: since its midnight
    assert list(at.dataframe[0].value[ja("SID")]) == [sids["today"]]
    at.toggle(key="h-today").set_value(False).run()
    yesterday = after.date() - timedelta(days=1)
    at.date_input(key="h-from").set_value(yesterday)
    at.date_input(key="h-to").set_value(yesterday).run()
    assert list(at.dataframe[0].value[ja("SID")]) == [sids["yesterday"]]


def test_an_english_reader_sees_the_same_floor_clock_in_english(
    tokyo_floor: tuple[Wired, Settings, dict[str, str]],
) -> None:
    _, settings, sids = tokyo_floor
    after = just_after_midnight_in_tokyo()
    at = app_as(settings, "mina").run()  # a manager, no language in the roster: EARPIECE_LANGUAGE
    at.switch_page("views/calls.py").run()
    assert not at.exception
    ended = list(at.dataframe[0].value["Ended"])
    assert ended[0] == f"{after:%b} {after.day}, {after.year}, 00:10:00 +0900"
    at.query_params["sid"] = sids["today"]
    at.run()
    assert not at.exception
    title = html.unescape(at.subheader[0].value).replace("\u2060", "")  # as a person reads it
    assert title == f"田中 愛 (tara) · billing · ended {ended[0]}"
    assert "Customer 090-••••-5678" in texts(at)
    assert "Times in Asia/Tokyo" in texts(at)


def test_the_call_page_shows_numbers_and_names_the_floor_way(
    tokyo_floor: tuple[Wired, Settings, dict[str, str]],
) -> None:
    wired, settings, _ = tokyo_floor
    with wired.sim.control() as http:
        sid = http.post("/sim/calls", json={"agent": "tara", "customer": JAPAN["0120"]}
                        ).json()["conference_sid"]  # fmt: skip
    wired.wait(lambda: any(p.get("number") for p in (wired.conference(sid) or {})
                           .get("participants", [])))  # fmt: skip
    at = app_as(settings, "ken").run()
    at.switch_page("views/call.py")
    at.query_params["sid"] = sid
    at.run()
    assert not at.exception
    assert html.unescape(at.title[0].value) == "田中 愛 (tara) · billing"
    people = at.dataframe[0].value
    ja = JA.gettext  # ken reads Japanese: the columns and the role in his words
    customers = people[people[ja("Role")] == ja("customer")]
    assert list(customers[ja("Number")]) == ["0120-•••-456"]
    joined = people.iloc[0][ja("Joined")]
    assert len(joined) == 8 and joined[2] == ":" and joined[5] == ":"  # 10:23:41, floor time


def test_the_browser_board_is_handed_the_floor_zone_and_the_reader_language(
    tokyo_floor: tuple[Wired, Settings, dict[str, str]],
) -> None:
    _, settings, _ = tokyo_floor
    for supervisor, language in (("ken", "ja"), ("mina", "en")):
        at = app_as(settings, supervisor).run()
        assert not at.exception
        assert board_data(at)["clock"] == {"zone": "Asia/Tokyo", "lang": language}


def test_the_empty_call_controls_say_what_goes_there_in_the_readers_words(
    tokyo_floor: tuple[Wired, Settings, dict[str, str]],
) -> None:
    """The controls box keeps its height for a chosen call: with none chosen it says so, and
    which keys act once one is (a list in each language's own way)."""
    _, settings, _ = tokyo_floor
    said = {
        "ken": ("通話が選択されていません", "L でモニター、W でウィスパー、B でバージ、X で退出"),
        "mina": ("No call chosen", "L listen, W whisper, B barge, and X leave"),
        # QA only listens: the hint promises nothing else (a trial found it did).
        "quincy": ("Click a row to listen to that call.", "L listen and X leave"),
    }
    for supervisor, (heading, keys) in said.items():
        at = app_as(settings, supervisor).run()
        assert not at.exception
        texts = [m.value for m in at.markdown] + [c.value for c in at.caption]
        assert any(heading in t for t in texts), texts
        assert any(keys in t for t in texts), texts
        assert supervisor != "quincy" or not any("whisper" in t for t in texts), texts
