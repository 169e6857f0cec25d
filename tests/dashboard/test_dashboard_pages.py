"""Each dashboard page in Streamlit's AppTest, against a real Redis, the
simulator and the callback service (what a supervisor sees and does)."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse
from streamlit.testing.v1 import AppTest

from core.embedded_redis import EmbeddedRedis
from core.passwords import hash_password
from core.redis_client import RedisTarget
from core.settings import Settings, load
from dashboard.text import literal
from tests.conftest import SESSION_SECRET, TWILIO_CREDENTIALS, Wired, signin_code, wire

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
RUN_TIMEOUT = 30


@pytest.fixture
def floor(
    redis_target: RedisTarget, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Wired, Settings]]:
    running = wire(redis_target, namespace)
    assert running.service.settings is not None
    # No Twilio credential: the dashboard acts through the service's API (issue 24).
    env = {
        "REDIS_URL": redis_target.url,
        "EARPIECE_NAMESPACE": namespace,
        "PUBLIC_BASE_URL": running.service.settings.base_url,
        "EARPIECE_SESSION_SECRET": SESSION_SECRET,
        "EARPIECE_DEMO": "true",
        "EARPIECE_ARCHIVE_URL": running.service.settings.archive_url or "",
        # Floor snapshots are shared for half a refresh; keep that out of the tests' way.
        "EARPIECE_DASHBOARD_REFRESH_SECONDS": "0.02",
    }
    for name in TWILIO_CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield running, load(env, env_file=None)
    running.stop()


# A phrase's toast on uma's call: uma as the roster names uma (shown as text).
UMAS_CALL = f"“lawyer” on **{literal('鈴木 一郎 (uma)')}**'s call"


def app_as(settings: Settings, supervisor: str | None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    if supervisor is not None:
        at.query_params["signin"] = signin_code(settings, supervisor)
    return at


def texts(at: AppTest) -> str:
    """Everything the page says, in one string (markdown, captions, alerts, plain text), as a
    person reads it (character references shown as their characters)."""
    parts: list[str] = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "title", "text"):
        parts.extend(str(e.value) for e in getattr(at, kind))
    return html.unescape("\n".join(parts)).replace("\u2060", "")


def button(at: AppTest, key: str) -> Any:
    return at.button(key=key)


def board_data(at: AppTest) -> dict[str, Any]:
    """What the page hands the browser's board component (its stream URL, with a ticket)."""
    # The board's component is the one with a stream; the session's cookie keeper has none.
    [data] = [d for d in component_data(at) if "/events/board" in d.get("url", "")]
    return dict(data)


def component_data(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(c.proto.json) for c in at.get("bidi_component")]


def first_board(at: AppTest) -> dict[str, Any]:
    """The first view the browser's component receives from the stream the page gave it."""
    with httpx.Client(timeout=10) as http, connect_sse(http, "GET", board_data(at)["url"]) as src:
        assert src.response.status_code == 200, src.response.text
        for event in src.iter_sse():
            if event.event == "board":
                message: dict[str, Any] = json.loads(event.data)
                return message
    raise AssertionError("the stream ended without a board")


def test_without_a_session_the_dashboard_asks_to_sign_in(floor: tuple[Wired, Settings]) -> None:
    _, settings = floor
    at = app_as(settings, None).run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Supervisor ID", "Password"]
    assert "Floor" not in [t.value for t in at.title]
    # The demo (no passwords on its roster) says how its supervisors sign in (issue 28).
    assert "earpiece signin-link ID" in texts(at) and "`ken` (lead)" in texts(at)


def test_a_forged_or_used_signin_link_is_refused(floor: tuple[Wired, Settings]) -> None:
    _, settings = floor
    code = signin_code(settings, "mina")
    signed_in = []
    for tried in (code + "x", code, code):  # forged; good once; then used
        at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
        at.query_params["signin"] = tried
        at.run()
        assert "signin" not in at.query_params  # never left in the address bar
        signed_in.append("Floor" in [t.value for t in at.title])
    assert signed_in == [False, True, False]
    assert "used or expired" in texts(at)
    # An old-style ?session= link signs nobody in.
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.query_params["session"] = "bWluYQoxOTk5OTk5OTk5.c2lnbmF0dXJl"
    at.run()
    assert [t.label for t in at.text_input] == ["Supervisor ID", "Password"]


def test_password_sign_in_against_the_roster_hash(
    floor: tuple[Wired, Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    roster = tmp_path / "roster.toml"
    roster.write_text(
        '[teams.support]\nqueue = "support"\nagents = ["bob"]\n'
        f'[supervisors.zoe]\nname = "Zoe"\nrole = "manager"\n'
        f'password_hash = "{hash_password("correct horse")}"\n'
    )
    monkeypatch.setenv("EARPIECE_ROSTER", str(roster))
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT).run()
    at.text_input(key="signin_id").input("zoe")
    at.text_input(key="signin_password").input("wrong one")
    at.button[0].click().run()
    assert "wrong password" in texts(at)
    at.text_input(key="signin_password").input("correct horse")
    at.button[0].click().run()
    assert not at.exception
    assert "Floor" in [t.value for t in at.title]
    assert not at.query_params  # nothing that signs anyone in rides in the URL


def test_floor_shows_live_calls_with_kpis_and_masked_numbers(
    floor: tuple[Wired, Settings],
) -> None:
    wired, settings = floor
    wired.new_call("bob")
    call = wired.new_call("ivan")
    wired.act(call["conference_sid"], "hold", call["customer_call_sid"])
    wired.wait(lambda: (wired.conference(call["conference_sid"]) or {}).get("state") == "hold")
    # The customer's number is read from Twilio once the customer joined.
    wired.wait(lambda: any(p.get("number") for p in wired.people(call)))
    at = app_as(settings, "mina").run()
    assert not at.exception
    view = first_board(at)
    tiles = view["kpis"]
    assert (tiles["live"], tiles["on_hold"], tiles["monitored"]) == (2, 1, 0)
    rows = [view["rows"][sid] for sid in view["order"]]
    assert sorted(r["agent"] for r in rows) == ["bob", "ivan"]
    held = next(r for r in rows if r["agent"] == "ivan")
    assert held["state"] == "hold"
    assert held["team"] == "sales-west"
    number = held["customer"]
    assert "•" in number and number[-4:].isdigit(), number


def test_filters_survive_refreshes(floor: tuple[Wired, Settings]) -> None:
    wired, settings = floor
    wired.new_call("bob")
    wired.new_call("ivan")
    at = app_as(settings, "mina").run()
    at.multiselect(key="f-team").select("sales-west").run()
    view = board_data(at)["url"].split("&", 1)[1]  # the filters, after the ticket
    assert "team=sales-west" in view
    assert [r["agent"] for r in first_board(at)["rows"].values()] == ["ivan"]
    at.run()  # a refresh (a full run gets a fresh ticket, for the same view)
    at.run()
    assert board_data(at)["url"].split("&", 1)[1] == view
    assert at.multiselect(key="f-team").value == ["sales-west"]


def choose(at: AppTest, sid: str) -> AppTest:
    at.session_state["selected-sid"] = sid
    return at.run()


def test_buttons_follow_the_role(floor: tuple[Wired, Settings]) -> None:
    wired, settings = floor
    sid = wired.new_call("bob")["conference_sid"]  # sales-east
    qa = choose(app_as(settings, "quincy").run(), sid)
    assert not button(qa, f"floor-{sid}-listen").disabled
    assert button(qa, f"floor-{sid}-whisper").disabled
    assert "may only listen" in button(qa, f"floor-{sid}-whisper").help
    assert button(qa, f"floor-{sid}-barge").disabled
    lead_elsewhere = choose(app_as(settings, "ken").run(), sid)  # leads support and billing
    for mode in ("listen", "whisper", "barge"):
        b = button(lead_elsewhere, f"floor-{sid}-{mode}")
        assert b.disabled and "sales-east" in b.help
    own_lead = choose(app_as(settings, "ana").run(), sid)
    assert not any(button(own_lead, f"floor-{sid}-{m}").disabled
                   for m in ("listen", "whisper", "barge"))  # fmt: skip


def test_listen_then_whisper_then_leave_from_the_floor(floor: tuple[Wired, Settings]) -> None:
    wired, settings = floor
    call = wired.new_call("bob")
    sid = call["conference_sid"]
    at = choose(app_as(settings, "mina").run(), sid)
    button(at, f"floor-{sid}-listen").click().run()
    assert not at.exception
    wired.wait(lambda: (wired.monitor(sid, "mina") or {}).get("status") == "connected")
    leg = wired.monitor(sid, "mina")["call_sid"]  # type: ignore[index]
    assert wired.sim_leg(sid, leg).muted is True
    at.run()
    assert "You are listening" in texts(at)
    button(at, f"own-{sid}-whisper").click().run()
    participant = wired.sim_leg(sid, leg)
    assert (participant.muted, participant.coaching) == (False, True)
    assert participant.call_sid_to_coach == call["agent_call_sid"]
    at.run()
    assert "Your microphone is live" in texts(at)
    button(at, f"own-{sid}-leave").click().run()
    wired.wait(lambda: wired.monitor(sid, "mina") is None)
    assert leg not in wired.sim.engine.conferences[sid].participants or (
        wired.sim_leg(sid, leg).status != "connected"
    )
    at.run()
    assert "Your microphone is live" not in texts(at)


def test_listening_on_a_waiting_call_says_the_call_has_not_started(
    floor: tuple[Wired, Settings],
) -> None:
    """Listen on a caller nobody has answered: the leg is added without starting the call
    (issue 21, §2.1), and the page says the supervisor waits with the caller."""
    wired, settings = floor
    with wired.sim.control() as http:
        sid = http.post("/sim/calls", json={"agent": "bob", "waiting": True}).json()[
            "conference_sid"
        ]
    wired.wait(lambda: wired.conference(sid) is not None)
    at = choose(app_as(settings, "mina").run(), sid)
    button(at, f"floor-{sid}-listen").click().run()
    assert not at.exception
    wired.wait(lambda: (wired.monitor(sid, "mina") or {}).get("status") == "connected")
    at.run()
    assert "This call has not started" in texts(at), texts(at)
    assert wired.sim.engine.conferences[sid].status == "init"


def test_a_twilio_refusal_shows_its_message(floor: tuple[Wired, Settings]) -> None:
    wired, settings = floor
    sid = wired.new_call("bob")["conference_sid"]
    at = choose(app_as(settings, "mina").run(), sid)
    with wired.sim.control() as http:
        http.put("/sim/faults", json={"rest_429_next": 50})
    button(at, f"floor-{sid}-listen").click().run()
    assert not at.exception
    assert "Twilio refused (20429)" in texts(at) or "Too Many" in texts(at), texts(at)


def test_call_page_shows_people_timeline_and_the_end(floor: tuple[Wired, Settings]) -> None:
    wired, settings = floor
    call = wired.new_call("bob")
    sid = call["conference_sid"]
    wired.act(sid, "hold", call["customer_call_sid"])
    wired.wait(lambda: (wired.conference(sid) or {}).get("state") == "hold")
    # A supervisor's join, switch and leave, most likely in one second (the timeline's
    # times are to the second): a trial found them listed newest first within it.
    with wired.api("ana") as http:
        monitors = f"/api/conferences/{sid}/monitors"
        assert http.post(monitors, json={"supervisor": "ana", "mode": "listen"}).status_code == 201
        wired.wait(lambda: (wired.monitor(sid, "ana") or {}).get("status") == "connected")
        assert http.patch(f"{monitors}/ana", json={"mode": "whisper"}).status_code == 200
        assert http.delete(f"{monitors}/ana").status_code == 204
    at = app_as(settings, "mina").run()
    at.switch_page("views/call.py")
    at.query_params["sid"] = sid
    at.run()
    assert not at.exception
    people = at.dataframe[0].value
    assert sorted(people["Role"]) == ["agent", "customer"]
    assert bool(people[people["Role"] == "customer"].iloc[0]["On hold"]) is True
    timeline = list(at.dataframe[1].value["What"])
    assert "the call started" in timeline
    assert "agent bob joined" in timeline
    assert "the customer was put on hold" in timeline
    # (Twilio's events of her leg are there too; her actions say their mode.)
    # People by the roster's names, as the board says them (ana is Ana Ito).
    acts = [w for w in timeline if w.startswith("supervisor Ana Ito") and "(" in w]
    assert acts == [
        "supervisor Ana Ito joined (listen)",
        "supervisor Ana Ito switched mode (listen → whisper)",
        "supervisor Ana Ito left (whisper)",
    ], timeline
    wired.act(sid, "end")
    wired.wait(lambda: (wired.conference(sid) or {}).get("state") == "ended")
    at.run()
    assert "This call ended" in texts(at)
    assert not [b for b in at.button if b.key and b.key.startswith(f"call-{sid}")]


def test_audit_page_lists_actions_and_offers_csv(floor: tuple[Wired, Settings]) -> None:
    wired, settings = floor
    sid = wired.new_call("bob")["conference_sid"]
    with wired.api("ana") as http:
        joined = http.post(
            f"/api/conferences/{sid}/monitors", json={"supervisor": "ana", "mode": "listen"}
        )
        assert joined.status_code == 201
        wired.wait(lambda: (wired.monitor(sid, "ana") or {}).get("status") == "connected")
        assert http.delete(f"/api/conferences/{sid}/monitors/ana").status_code == 204
    at = app_as(settings, "mina").run()
    at.switch_page("views/audit.py").run()
    assert not at.exception
    entries = at.dataframe[0].value
    # Mina's own sign-in (through the one-time link) is audited too.
    assert list(entries["action"]) == ["signin", "leave", "join"]
    assert list(entries["supervisor"]) == ["mina", "ana", "ana"]
    at.selectbox(key="a-supervisor").select("quincy").run()
    assert len(at.dataframe[0].value) == 0
    downloads = at.get("download_button")
    assert downloads, "no CSV download offered"


def test_an_ended_call_leaves_the_floor(floor: tuple[Wired, Settings]) -> None:
    wired, settings = floor
    sid = wired.new_call("bob")["conference_sid"]
    at = choose(app_as(settings, "mina").run(), sid)
    assert board_data(at)["selected"]["sid"] == sid
    assert "Open call page →" in [b.label for b in at.button]
    wired.act(sid, "end")
    wired.wait(lambda: (wired.conference(sid) or {}).get("state") == "ended")
    at.run()
    assert first_board(at)["order"] == []
    assert "has ended" in texts(at)
    assert board_data(at)["selected"] is None


def test_redis_down_shows_a_banner_and_the_floor_comes_back_by_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    url = server.start()
    env = {
        "REDIS_URL": url, "EARPIECE_NAMESPACE": "down", "PUBLIC_BASE_URL": "http://127.0.0.1:9",
        "EARPIECE_DASHBOARD_REFRESH_SECONDS": "0.02", "EARPIECE_SESSION_SECRET": SESSION_SECRET,
        "EARPIECE_DEMO": "true", "EARPIECE_ARCHIVE_URL": f"sqlite:///{tmp_path / 'a.sqlite3'}",
    }  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load(env, env_file=None)
    try:
        at = app_as(settings, "mina").run()
        assert not at.exception and board_data(at)["url"]
        server.release()
        server.shutdown()
        at.run()
        assert not at.exception
        assert "Redis is unreachable" in texts(at)
        server = EmbeddedRedis(tmp_path / "redis")
        assert server.start() == url
        at.run()
        assert not at.exception
        assert "Redis is unreachable" not in texts(at)
    finally:
        server.release()
        server.shutdown()


def test_a_help_request_rings_on_the_floor_and_leads_to_the_call(
    floor: tuple[Wired, Settings],
) -> None:
    wired, settings = floor
    call = wired.new_call("bob")
    sid = call["conference_sid"]
    at = app_as(settings, "mina").run()
    assert not at.toast
    with wired.api("bob", "agent") as http:
        assert http.post(f"/api/calls/{call['agent_call_sid']}/help").status_code == 201
    at.run()
    assert [t.value for t in at.toast] == ["**bob** asks for help"]
    assert any("audio" in str(h.proto) for h in at.get("html")), "no chime"
    [row] = first_board(at)["rows"].values()
    assert row["alerts"].startswith("HELP") and "bob asked for help" in row["why"]
    # The browser asks for a redraw when the help it sees is not the help the page drew.
    helped = wired.conference(sid)
    assert helped is not None
    assert board_data(at)["help_key"] == f"{sid}@{helped['help']['since']}"
    at.run()
    assert not at.toast  # once per request, not on every refresh
    at.button(key=f"help-{sid}").click().run()
    assert button(at, f"floor-{sid}-listen") is not None  # the call's controls are up


def test_an_agent_the_roster_names_is_named_so_in_toasts_banners_and_the_call_page(
    floor: tuple[Wired, Settings],
) -> None:
    """tara is 田中 愛 in the roster: the floor's rows said so, its help toast, banner and the
    call page's people said "tara"."""
    wired, settings = floor
    call = wired.new_call("tara")
    sid = call["conference_sid"]
    at = app_as(settings, "mina").run()
    with wired.api("tara", "agent") as http:
        assert http.post(f"/api/calls/{call['agent_call_sid']}/help").status_code == 201
    at.run()
    # (a name is shown as text: literal() escapes what markdown would read, its brackets too)
    assert [t.value for t in at.toast] == [f"**{literal('田中 愛 (tara)')}** asks for help"]
    assert at.button(key=f"help-{sid}").label == f"Go to {literal('田中 愛 (tara)')}"
    at.switch_page("views/call.py")
    at.query_params["sid"] = sid
    at.run()
    assert not at.exception
    people = at.dataframe[0].value
    assert "agent 田中 愛 (tara)" in list(people["Who"])
    assert any(f"**{literal('田中 愛 (tara)')}** asked for help at" in e.value for e in at.error)


def test_the_follow_selector_follows_an_agent(floor: tuple[Wired, Settings]) -> None:
    wired, settings = floor
    at = app_as(settings, "ana").run()  # leads sales-east: only its agents are offered
    options = at.selectbox(key="follow").options
    assert "bob" in options and "nick" not in options
    at.selectbox(key="follow").select("bob").run()
    with wired.api() as http:
        assert http.get("/api/follows").json() == {"follows": {"ana": "bob"}}
    sid = wired.new_call("bob")["conference_sid"]
    wired.wait(lambda: wired.monitor(sid, "ana") is not None)  # (how soon: not a test's)


def test_call_page_shows_signals_and_sends_a_card(floor: tuple[Wired, Settings]) -> None:
    wired, settings = floor
    call = wired.new_call("bob")
    sid = call["conference_sid"]
    wired.act(sid, "speech-start", call["agent_call_sid"])
    wired.wait(lambda: (wired.conference(sid) or {})["signals"]["speaking"] == ["agent"])
    at = app_as(settings, "ana").run()
    at.switch_page("views/call.py")
    at.query_params["sid"] = sid
    at.run()
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Speaking now"] == "agent" and tiles["Holds"] == "0"
    # The page waits on its call's changes, not on a fast timer.
    watch = board_data(at)
    assert f"watch={sid}" in watch["url"]
    assert "board=off" in watch["url"]
    at.text_input(key=f"card-text-{sid}").input("Ask for the order number")
    [send] = [b for b in at.button if b.label == "Send card"]
    send.click().run()
    assert not at.exception
    with wired.api("ana") as http:  # a card is words: read by one who may listen to the call
        [card] = http.get(f"/api/conferences/{sid}").json()["cards"]
    assert card["text"] == "Ask for the order number" and card["supervisor"] == "ana"
    at.run()
    assert "Ask for the order number" in texts(at)
    qa = app_as(settings, "quincy").run()
    qa.switch_page("views/call.py")
    qa.query_params["sid"] = sid
    qa.run()
    assert "QA and may only listen" in texts(qa)


def test_a_whisper_held_by_another_is_offered_as_a_takeover(
    floor: tuple[Wired, Settings],
) -> None:
    wired, settings = floor
    sid = wired.new_call("bob")["conference_sid"]
    with wired.api("ana") as http:
        joined = http.post(f"/api/conferences/{sid}/monitors",
                           json={"supervisor": "ana", "mode": "whisper"})  # fmt: skip
        assert joined.status_code == 201
    wired.wait(lambda: (wired.monitor(sid, "ana") or {}).get("status") == "connected")
    at = choose(app_as(settings, "mina").run(), sid)
    whisper = button(at, f"floor-{sid}-whisper")
    assert whisper.label == "Whisper (take over from ana)" and not whisper.disabled
    whisper.click().run()
    assert not at.exception
    wired.wait(lambda: (wired.monitor(sid, "mina") or {}).get("mode") == "whisper")
    assert (wired.monitor(sid, "ana") or {})["mode"] == "listen"


def test_call_page_live_transcript_pause_and_resume(floor: tuple[Wired, Settings]) -> None:
    wired, settings = floor
    wired.sim.thread.app.state.transcriber.words_per_second = 40.0
    call = wired.new_call("tara")  # billing transcribes every call
    sid = call["conference_sid"]
    wired.wait(lambda: ((wired.conference(sid) or {}).get("transcript") or {}).get("state") == "on",
               10)  # fmt: skip
    with wired.sim.control() as http:
        http.post(f"/sim/conferences/{sid}/actions", json={
            "action": "say", "call_sid": call["customer_call_sid"],
            "text": "I want to speak to your manager"})  # fmt: skip
    wired.wait(lambda: "phrase" in (wired.conference(sid) or {}).get("alerts", []), 10)
    at = app_as(settings, "ken").run()  # ken leads billing
    at.switch_page("views/call.py")
    at.query_params["sid"] = sid
    at.run()
    assert not at.exception
    # Ken reads Earpiece in Japanese (the demo roster's `language = "ja"`, issue 25).
    assert "リアルタイム文字起こし" in [h.value for h in at.subheader]
    [stream] = [d for d in component_data(at) if "/events/transcript" in d.get("url", "")]
    with (
        httpx.Client(timeout=10) as http,
        connect_sse(http, "GET", stream["url"]) as source,
    ):
        assert source.response.status_code == 200
        snapshot = json.loads(next(source.iter_sse()).data)
    assert [line["text"] for line in snapshot["lines"] if line["final"]] == [
        "I want to speak to your manager"]  # fmt: skip
    assert snapshot["phrases"][0]["phrase"] == "speak to your manager"
    button(at, f"tx-mute-{sid}").click().run()
    assert "phrase" not in (wired.conference(sid) or {}).get("alerts", [])
    button(at, f"tx-pause-{sid}").click().run()
    assert not at.exception
    tx = (wired.conference(sid) or {})["transcript"]
    assert tx["state"] == "paused" and tx["paused_by"] == "ken"
    at.run()
    button(at, f"tx-resume-{sid}").click().run()
    wired.wait(lambda: (wired.conference(sid) or {})["transcript"]["state"] == "on", 10)


def test_a_phrase_said_rings_on_the_floor_like_a_help_request(
    floor: tuple[Wired, Settings],
) -> None:
    wired, settings = floor
    wired.sim.thread.app.state.transcriber.words_per_second = 40.0
    call = wired.new_call("uma")  # billing transcribes every call
    sid = call["conference_sid"]
    wired.wait(lambda: ((wired.conference(sid) or {}).get("transcript") or {}).get("state") == "on",
               10)  # fmt: skip
    at = app_as(settings, "mina").run()
    assert not at.toast
    with wired.sim.control() as http:
        http.post(f"/sim/conferences/{sid}/actions", json={
            "action": "say", "call_sid": call["customer_call_sid"],
            "text": "Fine then, I will call my lawyer"})  # fmt: skip
    wired.wait(lambda: "phrase" in (wired.conference(sid) or {}).get("alerts", []), 10)
    at.run()
    assert [t.value for t in at.toast] == [UMAS_CALL]
    assert "said a phrase to watch" in texts(at)
    [row] = first_board(at)["rows"].values()
    assert "phrase" in row["alerts"] and "“lawyer”" in row["why"]
    assert row["said"] == "customer: Fine then, I will call my lawyer"
    at.run()
    assert not at.toast  # once per phrase said, not on every refresh
    at.button(key=f"phrase-{sid}").click().run()
    assert button(at, f"floor-{sid}-listen") is not None  # the call's controls are up


def test_a_lead_of_another_team_gets_no_phrase_alert_and_no_words(
    floor: tuple[Wired, Settings],
) -> None:
    """Words follow listening (issue 22): ana leads sales-east, and uma's call is billing's."""
    wired, settings = floor
    wired.sim.thread.app.state.transcriber.words_per_second = 40.0
    call = wired.new_call("uma")  # billing transcribes every call
    sid = call["conference_sid"]
    wired.wait(lambda: ((wired.conference(sid) or {}).get("transcript") or {}).get("state") == "on",
               10)  # fmt: skip
    lead = app_as(settings, "ana").run()
    manager = app_as(settings, "mina").run()
    said = ("Fine then, I will call my lawyer", "弁護士に相談します")

    def finals() -> list[str]:
        with wired.api("mina") as http:
            lines = http.get(f"/api/conferences/{sid}/transcript").json()["lines"]
        return [line["text"] for line in lines if line["final"]]

    for n, text in enumerate(said, 1):
        with wired.sim.control() as http:
            http.post(f"/sim/conferences/{sid}/actions", json={
                "action": "say", "call_sid": call["customer_call_sid"], "text": text})  # fmt: skip
        wired.wait(lambda n=n: len(finals()) == n, 10)
    assert finals() == list(said)
    wired.wait(lambda: "phrase" in (wired.conference(sid) or {}).get("alerts", []), 10)
    # A board stream opens on the hub's latest pass: one that began after the last line's
    # feed entry (the pass before it may still show the line before).
    hub: Any = wired.service.app.state.ctx.board
    passes = hub.passes
    wired.wait(lambda: hub.passes >= passes + 2, 10)
    lead.run()
    manager.run()
    # The manager may listen: the phrase, the last line.
    assert [t.value for t in manager.toast] == [UMAS_CALL]
    [row] = first_board(manager)["rows"].values()
    assert "“lawyer”" in row["why"] and row["said"] == f"customer: {said[1]}"
    # The lead may not: no toast, chime or banner for a call they may not act on (issue 28),
    # and nothing that was said anywhere on the page (issue 22; the board rows' words are
    # the authorization table's: tests/access/test_authorization.py).
    assert not lead.toast
    assert "said a phrase to watch" not in texts(lead)
    seen = texts(lead) + json.dumps(component_data(lead), ensure_ascii=False)
    assert not any(word in seen for word in ("lawyer", "弁護士"))
    # Its call page shows no transcript and opens no stream of it.
    lead.switch_page("views/call.py")
    lead.query_params["sid"] = sid
    lead.run()
    assert not lead.exception
    assert "You may not listen to this call, so its words are not shown here." in texts(lead)
    assert not [d for d in component_data(lead) if "/events/transcript" in d.get("url", "")]


def test_another_teams_lead_sees_that_a_card_was_sent_not_what_it_said(
    floor: tuple[Wired, Settings],
) -> None:
    """A card is words (live/words.py): the call page shows it to whoever may listen to the
    call, and its timeline tells another team's lead only what the audit would tell them."""
    wired, settings = floor
    call = wired.new_call("bob")  # sales-east: ana leads it, ken leads billing
    sid = call["conference_sid"]
    said = "お客様は解約を考えています"
    with wired.api("ana") as http:
        sent = http.post(f"/api/calls/{call['agent_call_sid']}/cards", json={"text": said})
        assert sent.status_code == 201, sent.text
    for who, shown in (("ana", True), ("ken", False)):
        at = app_as(settings, who).run()
        at.switch_page("views/call.py")
        at.query_params["sid"] = sid
        at.run()
        assert not at.exception
        timeline = " ".join(at.dataframe[-1].value.iloc[:, -1])  # its "What", in their language
        assert (said in texts(at)) is shown and (said in timeline) is shown, who
        if not shown:  # (ken reads the dashboard in Japanese)
            assert "この通話はモニターできないため、カードは表示されません。" in texts(at)
