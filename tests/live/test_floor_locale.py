"""Issue 25: the floor's clock, numbers and names, for a floor in Japan and one elsewhere.

The plain modules (core/floor_clock.py, core/phone.py, live/names.py, core/folding.py),
the roster's names, readings and languages, and every API surface a number or a date
crosses: /api/conferences, /events, /events/board, /api/history (dates without an offset
read on the floor's clock, around midnight in Tokyo) and the CSV exports."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from httpx_sse import connect_sse

from archive.record import CallRecord
from archive.sqlite_store import SqliteStore
from core import phone
from core.audit import to_csv
from core.floor_clock import FloorClock
from core.folding import fold, matches
from core.settings import SettingError, Settings, load
from live import names
from live.board import row
from live.roster import parse
from tests.conftest import API_TOKEN, Wired
from tests.live.test_board import Watcher, ticket

TOKYO = ZoneInfo("Asia/Tokyo")
JAPAN = {"03": "+81312345678", "0120": "+81120123456", "090": "+819012345678"}
ABROAD = {"us": "+12025550123", "uk": "+442079460000"}


# -- numbers --------------------------------------------------------------------------------


def test_japanese_numbers_read_the_national_way_on_a_japanese_floor() -> None:
    assert [phone.display(n, "JP") for n in JAPAN.values()] == [
        "03-1234-5678", "0120-123-456", "090-1234-5678"]  # fmt: skip
    assert [phone.masked(n, "JP") for n in JAPAN.values()] == [
        "03-••••-5678", "0120-•••-456", "090-••••-5678"]  # fmt: skip
    # Numbers of another country keep theirs, written the international way.
    assert phone.display(ABROAD["us"], "JP") == "+1 202-555-0123"
    assert phone.masked(ABROAD["us"], "JP") == "+1 202-••••-0123"
    assert phone.masked(ABROAD["uk"], "JP") == "+44 20 •••• 0000"


def test_on_a_floor_elsewhere_japanese_numbers_are_international() -> None:
    assert phone.masked(JAPAN["03"], "US") == "+81 3-••••-5678"
    assert phone.masked(JAPAN["0120"], "US") == "+81 120-•••-456"
    assert phone.masked(JAPAN["090"], None) == "+81 90-••••-5678"
    assert phone.display(ABROAD["us"], "US") == "(202) 555-0123"
    assert phone.masked(ABROAD["us"], "US") == "(202) ••••-0123"
    assert phone.masked(ABROAD["uk"], "GB") == "020 •••• 0000"


def test_a_mask_does_not_tell_how_many_digits_it_hides() -> None:
    # German numbers differ in length within one area code: the masks look the same.
    short, long = phone.masked("+49301234567", None), phone.masked("+4930123456789", None)
    assert short.count("•") == long.count("•") == 4, (short, long)
    assert short.startswith("+49 30") and long.startswith("+49 30")
    # Not a phone number (a client or SIP address): four dots and its last four characters.
    assert phone.masked("client:bob", "JP") == "••••:bob"
    assert phone.masked("12", "JP") == "••••"
    assert phone.masked(None, "JP") == phone.display(None, "JP") == ""


def test_the_floor_country_comes_from_the_setting_or_the_time_zone() -> None:
    base = {"EARPIECE_DEMO": "true"}
    assert load({**base, "EARPIECE_TIMEZONE": "Asia/Tokyo"}, env_file=None).country == "JP"
    assert load({**base, "EARPIECE_TIMEZONE": "Europe/London"}, env_file=None).country == "GB"
    assert load(base, env_file=None).country is None  # UTC is in no one country
    chosen = {**base, "EARPIECE_TIMEZONE": "Asia/Tokyo", "EARPIECE_COUNTRY": "us"}
    assert load(chosen, env_file=None).country == "US"
    with pytest.raises(SettingError, match="EARPIECE_COUNTRY"):
        load({**base, "EARPIECE_COUNTRY": "Japan"}, env_file=None)
    with pytest.raises(SettingError, match="EARPIECE_LANGUAGE"):
        load({**base, "EARPIECE_LANGUAGE": "fr"}, env_file=None)
    assert load({**base, "EARPIECE_LANGUAGE": "ja"}, env_file=None).language == "ja"


# -- the clock ------------------------------------------------------------------------------


def just_after_midnight_in_tokyo() -> datetime:
    """Today's 00:10 on a Tokyo floor (15:10 UTC the day before), whatever today is."""
    today = datetime.now(TOKYO).date()
    return datetime(today.year, today.month, today.day, 0, 10, tzinfo=TOKYO)


def test_times_read_on_the_floor_clock_in_the_reader_language() -> None:
    moment = just_after_midnight_in_tokyo()
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ja = FloorClock("Asia/Tokyo", "ja")
    assert ja.when(stamp) == moment.strftime("%Y/%m/%d 00:10:00 JST")
    assert ja.time_of_day(stamp) == "00:10:00"
    assert ja.for_reader("en").when(stamp).endswith("00:10:00 +0900")
    assert ja.for_reader("en").when(stamp).startswith(f"{moment:%b} {moment.day}, {moment.year}")
    utc = FloorClock("UTC", "en")
    assert utc.time_of_day(stamp, with_zone=True) == "15:10:00 UTC"
    assert ja.local_iso(stamp) == moment.isoformat(timespec="seconds")  # ...T00:10:00+09:00


def test_a_floor_day_runs_midnight_to_midnight_in_its_zone() -> None:
    moment = just_after_midnight_in_tokyo()
    floor = FloorClock("Asia/Tokyo")
    start = floor.day_start_ms(moment.date())
    assert start == int((moment - timedelta(minutes=10)).timestamp() * 1000)
    assert floor.day_end_ms(moment.date()) == start + 86_400_000 - 1
    # Without an offset a time is the floor's; with one, as written.
    assert floor.read(moment.strftime("%Y-%m-%dT%H:%M")) == moment
    assert floor.read(moment.strftime("%Y-%m-%dT%H:%M+00:00")) != moment
    assert floor.read_ms(moment.date().isoformat(), end=True) == floor.day_end_ms(moment.date())
    assert floor.today(moment.timestamp() * 1000) == moment.date()


# -- names ----------------------------------------------------------------------------------


ROSTER = """
[teams.billing]
agents = ["tanaka", "suzuki", "abe", "sato", "bob"]

[agents.tanaka]
name = "田中 愛"
reading = "たなか あい"

[agents.suzuki]
name = "鈴木一郎"
reading = "すずきいちろう"

[agents.abe]
name = "阿部 健"
reading = "アベ ケン"

[agents.bob]
name = "Bob Brown"

[supervisors.ken]
role = "lead"
teams = ["billing"]
language = "ja"

[supervisors.ana]
role = "manager"
"""


def test_the_roster_names_agents_and_says_each_supervisor_language() -> None:
    roster = parse(ROSTER)
    assert roster.agent_names["suzuki"] == names.Person("suzuki", "鈴木一郎", "すずきいちろう")
    assert roster.team_of_agent["suzuki"] == "billing"  # still by ID
    assert roster.supervisors["ken"].language == "ja"
    assert roster.supervisors["ana"].language is None
    with pytest.raises(SettingError, match="language"):
        parse(ROSTER.replace('language = "ja"', 'language = "de"'))
    with pytest.raises(SettingError, match="no team has"):
        parse(ROSTER + '\n[agents.nobody]\nname = "誰"\n')
    with pytest.raises(SettingError, match="only name and reading"):
        parse(ROSTER + '\n[agents.sato]\nkana = "さとう"\n')


def test_people_sort_by_reading_then_by_collation() -> None:
    roster = parse(ROSTER)
    people = [roster.agent_names.get(a) or names.Person(a) for a in roster.agents]
    # Readings あべ (katakana アベ folds to it), すずき, たなか; Bob and sato have none:
    # Latin before kana before kanji in the Unicode Collation Algorithm's table.
    assert [p.id for p in names.sorted_people(people)] == ["bob", "sato", "abe", "suzuki",
                                                           "tanaka"]  # fmt: skip
    # English names alone sort as people expect, not by code point (a before B before c).
    latin = [names.Person(i) for i in ("carol", "Bob", "alice", "Émile", "dave")]
    assert [p.id for p in names.sorted_people(latin)] == ["alice", "Bob", "carol", "dave",
                                                          "Émile"]  # fmt: skip


def test_a_search_matches_any_width_and_either_kana() -> None:
    roster = parse(ROSTER)
    people = list(roster.agent_names.values())
    assert [p.id for p in names.search("ｽｽﾞｷ", people)] == ["suzuki"]  # half-width katakana
    assert [p.id for p in names.search("スズキ", people)] == ["suzuki"]
    assert [p.id for p in names.search("あべ", people)] == ["abe"]  # hiragana finds アベ
    assert [p.id for p in names.search("\uff22\uff2f\uff22", people)] == ["bob"]  # full-width BOB
    assert [p.id for p in names.search("田中", people)] == ["tanaka"]
    assert fold("\uff21\uff22\uff23\uff11\uff12\uff13") == "abc123" and matches("", "anything")
    assert not matches("すずき", "田中", None)


# -- every surface ---------------------------------------------------------------------------


@pytest.fixture
def tokyo(wiring: Callable[..., Wired]) -> Wired:
    return wiring(EARPIECE_TIMEZONE="Asia/Tokyo", EARPIECE_SSE_PING_SECONDS="1")


def served(wired: Wired) -> Settings:
    assert wired.service.settings is not None
    return wired.service.settings


def with_number(wired: Wired, sid: str) -> dict[str, Any]:
    wired.wait(lambda: any(p.get("number") for p in (wired.conference(sid) or {})
                           .get("participants", [])))  # fmt: skip
    return wired.conference(sid) or {}


def customer(conference: dict[str, Any]) -> str:
    return str(next(p["number"] for p in conference["participants"] if p["role"] == "customer"))


def test_every_stream_and_the_api_mask_numbers_the_floor_way(tokyo: Wired) -> None:
    calls = {}
    for (kind, number), agent in zip(
        [*JAPAN.items(), *ABROAD.items()], ["bob", "carol", "dave", "erin", "frank"], strict=True
    ):
        with tokyo.sim.control() as http:
            made = http.post("/sim/calls", json={"agent": agent, "customer": number}).json()
        calls[kind] = made["conference_sid"]
    expected = {"03": "03-••••-5678", "0120": "0120-•••-456", "090": "090-••••-5678",
                "us": "+1 202-••••-0123", "uk": "+44 20 •••• 0000"}  # fmt: skip
    shown = {kind: customer(with_number(tokyo, sid)) for kind, sid in calls.items()}
    assert shown == expected  # the service token reads the API masked
    with tokyo.api("ana") as http:  # a lead
        listed = http.get("/api/conferences").json()["conferences"]
    by_sid = {c["sid"]: c for c in listed}
    assert {k: customer(by_sid[sid]) for k, sid in calls.items() if sid in by_sid} == {
        k: v for k, v in expected.items() if calls[k] in by_sid}  # fmt: skip

    # /events: the snapshot a lead's softphone or wallboard receives.
    base = served(tokyo).base_url
    # The snapshot (one `conference` per live call, then `sync`): without it the stream
    # sends only changes, and a quiet floor sends none (a test once waited for ever here).
    with httpx.Client(base_url=base, timeout=10) as http, connect_sse(
        http, "GET", "/events?snapshot=1", headers={"Authorization": f"Bearer {API_TOKEN}"}
    ) as source:  # fmt: skip
        seen: dict[str, str] = {}
        for event in source.iter_sse():
            if event.event == "conference":
                doc = json.loads(event.data)
                seen[doc["sid"]] = customer(doc)
            if len(seen) == len(calls) or event.event == "sync":
                break
    assert {k: seen[sid] for k, sid in calls.items()} == expected

    # /events/board: the dashboard's live table, one rendering shared by every watcher.
    with httpx.Client(base_url=base, timeout=10) as http:
        watcher = Watcher(http, f"/events/board?ticket={ticket(http)}&limit=50")
        tokyo.wait(lambda: bool(watcher.boards()))
        rows = watcher.boards()[0]["rows"]
        watcher.close()
    assert {k: rows[sid]["customer"] for k, sid in calls.items()} == expected


def test_full_numbers_are_one_rule_for_every_surface(wiring: Callable[..., Wired]) -> None:
    """EARPIECE_MASK_CUSTOMER_NUMBERS=false used to unmask the dashboard only while the API
    masked for every role; now it names every role in `[access] full_numbers`, and the API
    says the number whole (E.164, as Twilio gave it) to a lead too. Shared surfaces (the
    board stream) stay masked whatever the setting."""
    wired = wiring(EARPIECE_TIMEZONE="Asia/Tokyo", EARPIECE_MASK_CUSTOMER_NUMBERS="false")
    with wired.sim.control() as http:
        sid = http.post("/sim/calls", json={"agent": "bob", "customer": JAPAN["03"]}
                        ).json()["conference_sid"]  # fmt: skip
    with_number(wired, sid)
    with wired.api("ana") as http:
        assert customer(http.get(f"/api/conferences/{sid}").json()) == JAPAN["03"]
    with wired.api() as http:  # the service token is no supervisor: masked
        assert customer(http.get(f"/api/conferences/{sid}").json()) == "03-••••-5678"
    base = served(wired).base_url
    with httpx.Client(base_url=base, timeout=10) as http:
        watcher = Watcher(http, f"/events/board?ticket={ticket(http)}")
        wired.wait(lambda: bool(watcher.boards()))
        assert watcher.boards()[0]["rows"][sid]["customer"] == "03-••••-5678"
        watcher.close()


def test_board_rows_write_numbers_for_the_floor_country() -> None:
    conference = {"sid": "CF1", "agent": "bob", "agent_name": "鈴木一郎", "state": "talking",
                  "participants": [{"role": "customer", "number": JAPAN["0120"]}]}  # fmt: skip
    assert row(conference, 0, mask=True, country="JP")["customer"] == "0120-•••-456"
    assert row(conference, 0, mask=False, country="JP")["customer"] == "0120-123-456"
    assert row(conference, 0, mask=True, country="US")["customer"] == "+81 120-•••-456"
    assert row(conference, 0, mask=True)["agent_name"] == "鈴木一郎"


def archived(sid: str, ended: datetime, number: str, team: str = "sales-east",
             agent: str = "bob") -> CallRecord:  # fmt: skip
    ended_ms = int(ended.timestamp() * 1000)
    queue = "billing" if team == "billing" else "sales"
    doc = {"sid": sid, "agent": agent, "team": team, "queue": queue,
           "ended_at": ended.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "duration_seconds": 60, "alerts": [], "monitors": [], "transcript": [],
           "recordings": [], "customer": number,
           "participants": [{"id": "customer", "number": number}]}  # fmt: skip
    return CallRecord(sid=sid, started_ms=ended_ms - 60_000, ended_ms=ended_ms,
                      team=team, queue=queue, agent=agent, alerts=(),
                      monitored=False, text="", doc=doc)  # fmt: skip


@pytest.fixture
def midnight(tokyo: Wired) -> Iterator[tuple[Wired, dict[str, str], datetime]]:
    """Two ended calls of a Tokyo floor: today at 00:10 and yesterday at 23:50 (both on
    the same UTC day, the day before)."""
    after = just_after_midnight_in_tokyo()
    before = after - timedelta(minutes=20)
    sids = {"today": f"CF{uuid.uuid4().hex}", "yesterday": f"CF{uuid.uuid4().hex}"}
    url = served(tokyo).archive_url or ""
    store = SqliteStore(Path(url.removeprefix("sqlite:///")))
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(store.put(archived(sids["today"], after, JAPAN["090"])))
        loop.run_until_complete(store.put(archived(sids["yesterday"], before, ABROAD["us"])))
        loop.run_until_complete(store.close())
    finally:
        loop.close()
    yield tokyo, sids, after


def test_history_dates_without_an_offset_are_the_floor_days(
    midnight: tuple[Wired, dict[str, str], datetime],
) -> None:
    wired, sids, after = midnight
    today, yesterday = after.date(), after.date() - timedelta(days=1)
    with wired.api("ana") as http:

        def found(query: str) -> list[str]:
            answer = http.get(f"/api/history?{query}")
            assert answer.status_code == 200, answer.text
            return [c["sid"] for c in answer.json()["calls"]]

        assert found(f"from={today}") == [sids["today"]]
        assert found(f"to={yesterday}") == [sids["yesterday"]]  # the whole of that day
        assert found(f"from={yesterday}&to={yesterday}") == [sids["yesterday"]]
        assert found(f"from={today}T00:05") == [sids["today"]]  # 00:05 in Tokyo
        # With an offset, as written: 23:50 in Tokyo is 14:50 UTC, 00:10 is 15:10 UTC.
        assert found(f"from={yesterday}T15:00:00%2B00:00") == [sids["today"]]
        assert set(found(f"from={yesterday}T14:00:00Z")) == set(sids.values())
        assert http.get("/api/history?from=yesterday").status_code == 422
        calls = {c["sid"]: c for c in http.get("/api/history").json()["calls"]}
        # The API keeps UTC ISO 8601; numbers masked the floor's way for a lead.
        assert calls[sids["today"]]["ended_at"].endswith("Z")
        assert calls[sids["today"]]["customer"] == "090-••••-5678"
        assert calls[sids["yesterday"]]["customer"] == "+1 202-••••-0123"


def test_csv_exports_carry_the_floor_clock_beside_utc() -> None:
    moment = just_after_midnight_in_tokyo()
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = list(csv.DictReader(io.StringIO(to_csv([{"id": "1-0", "at": stamp}], "Asia/Tokyo"))))
    assert rows[0]["at"] == stamp
    assert rows[0]["at_local"] == moment.isoformat(timespec="seconds")
    assert rows[0]["at_local"].endswith("T00:10:00+09:00")


# -- region ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "edge", "host"),
    [("jp1", "tokyo", "api.tokyo.jp1.twilio.com"), ("jp1", None, "api.tokyo.jp1.twilio.com"),
     (None, "sydney", "api.sydney.us1.twilio.com"), (None, None, "api.twilio.com")],
)  # fmt: skip
def test_a_recording_is_fetched_from_the_region_host_the_sdk_uses(
    region: str | None, edge: str | None, host: str
) -> None:
    from twilio.rest import Client

    from archive.media import media_url
    from core.twilio_client import make_client

    env = {"EARPIECE_DEMO": "true", "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
           "TWILIO_AUTH_TOKEN": "t" * 32, **({"TWILIO_REGION": region} if region else {}),
           **({"TWILIO_EDGE": edge} if edge else {})}  # fmt: skip
    settings = load(env, env_file=None)
    recording = "RE" + "2" * 32
    url = media_url(settings, recording)
    assert url == (f"https://{host}/2010-04-01/Accounts/{env['TWILIO_ACCOUNT_SID']}"
                   f"/Recordings/{recording}.wav")  # fmt: skip
    # The very host the SDK's own Client (as Earpiece makes it) sends every other call to.
    client: Client = make_client(settings)
    assert client.get_hostname("https://api.twilio.com/2010-04-01").split("/")[2] == host


def test_the_floor_agent_filter_and_order_read_names_and_readings() -> None:
    from live.board import Filters, choose

    def call(sid: str, agent: str, name: str | None, reading: str | None) -> dict[str, Any]:
        return {"sid": sid, "agent": agent, "agent_name": name, "agent_reading": reading,
                "state": "talking", "participants": [], "started_at": None}  # fmt: skip

    floor = [call("a", "tanaka", "田中 愛", "たなか あい"), call("b", "uma", "鈴木 一郎", "すずき"),
             call("c", "bob", None, None), call("d", "wes", "阿部 健", "アベ ケン")]  # fmt: skip
    typed_as = ("ｽｽﾞｷ", "すずき", "鈴木", "UMA", "\uff42\uff4f\uff42", "あべ")
    kept = {t: [c["sid"] for c in choose(floor, Filters(agent=t), 0)] for t in typed_as}
    assert kept == {"ｽｽﾞｷ": ["b"], "すずき": ["b"], "鈴木": ["b"], "UMA": ["b"],
                    "\uff42\uff4f\uff42": ["c"], "あべ": ["d"]}  # fmt: skip
    by_agent = [c["sid"] for c in choose(floor, Filters(order="agent"), 0)]
    assert by_agent == ["c", "d", "b", "a"]  # bob; then あべ, すずき, たなか


def test_audit_since_without_an_offset_is_the_floor_time(tokyo: Wired) -> None:
    with tokyo.api("mina") as http:
        assert http.get("/api/reviews.csv").status_code == 200  # an export: audited
        now = datetime.now(TOKYO)
        half_an_hour_ago = (now - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
        in_half_an_hour = (now + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
        # Tokyo wall-clock times: before, the server's own zone (UTC here) read them.
        found = http.get(f"/api/audit?since={half_an_hour_ago}").json()["entries"]
        assert [e["action"] for e in found] == ["export"]
        assert http.get(f"/api/audit?since={in_half_an_hour}").json()["entries"] == []
        assert http.get("/api/audit?since=soon").status_code == 422
        exported = list(csv.DictReader(io.StringIO(http.get("/api/audit.csv").text)))
    assert exported[0]["at"].endswith("Z") and exported[0]["at_local"].endswith("+09:00")
    moment = datetime.fromisoformat(exported[0]["at_local"])
    assert moment == datetime.fromisoformat(exported[0]["at"].replace("Z", "+00:00"))
