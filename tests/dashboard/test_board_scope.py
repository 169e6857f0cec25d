"""Issue 28: a board each supervisor can work from. A lead starts on their own teams, what
they choose (teams, columns) is kept on the server for the next session, and the floor's
toasts and chime come only for calls they may act on, once per call and cause, never again
on a reload (each AppTest here is a fresh browser session)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from streamlit.testing.v1 import AppTest

from core.settings import Settings
from dashboard.text import literal
from tests.conftest import Wired
from tests.dashboard.test_dashboard_pages import (
    app_as,
    board_data,
    choose,
    component_data,
    first_board,
    floor,
    texts,
)

__all__ = ["floor"]  # the fixture, shared with the pages' tests

# uma as the roster names uma, shown as text (literal() escapes the brackets for markdown).
UMA = literal("鈴木 一郎 (uma)")


def stream_teams(at: object) -> list[str]:
    return parse_qs(urlparse(board_data(at)["url"]).query).get("team", [])  # type: ignore[arg-type]


def test_a_leads_board_starts_on_their_teams_and_keeps_their_choice(
    floor: tuple[Wired, Settings],
) -> None:
    wired, settings = floor
    mine, theirs = wired.new_call("bob"), wired.new_call("uma")  # sales-east, billing
    at = app_as(settings, "ana").run()
    assert not at.exception
    assert at.multiselect(key="f-team").value == ["sales-east"]
    assert stream_teams(at) == ["sales-east"]
    rows = first_board(at)["rows"]
    assert mine["conference_sid"] in rows and theirs["conference_sid"] not in rows
    # Her choice: another team too, and fewer columns.
    at.multiselect(key="f-team").set_value(["sales-east", "support"]).run()
    at.multiselect(key="f-cols").set_value(["Team", "Why"]).run()
    assert not at.exception
    again = app_as(settings, "ana").run()  # a reload, or another browser
    assert again.multiselect(key="f-team").value == ["sales-east", "support"]
    assert again.multiselect(key="f-cols").value == ["Team", "Why"]
    hidden = board_data(again)["hidden"]
    assert "Customer" in hidden and "Why" not in hidden and "Team" not in hidden
    # A manager's board is the whole floor, and Ana's choice is hers alone.
    manager = app_as(settings, "mina").run()
    assert manager.multiselect(key="f-team").value == []
    rows = first_board(manager)["rows"]
    assert {mine["conference_sid"], theirs["conference_sid"]} <= set(rows)


def test_toasts_only_for_calls_one_may_act_on_once_per_cause(
    floor: tuple[Wired, Settings],
) -> None:
    wired, settings = floor
    sales, billing = wired.new_call("bob"), wired.new_call("uma")
    ana = app_as(settings, "ana").run()
    assert not ana.toast
    for agent, call in (("bob", sales), ("uma", billing)):
        with wired.api(agent, "agent") as http:
            assert http.post(f"/api/calls/{call['agent_call_sid']}/help").status_code == 201
    ana.run()
    # Ana leads sales-east: bob's request rings, uma's (billing) neither rings nor shows.
    assert [t.value for t in ana.toast] == ["**bob** asks for help"]
    assert "1 agent asks for help" in texts(ana)
    ana.run()
    assert not ana.toast
    reloaded = app_as(settings, "ana").run()  # a reload: a new session, nothing replayed
    assert not reloaded.toast
    assert not any("audio" in str(h.proto) for h in reloaded.get("html")), "the chime replayed"
    assert "1 agent asks for help" in texts(reloaded)  # the banner still says it
    ken = app_as(settings, "ken").run()  # leads support and billing: uma's is his
    # Ken reads Earpiece in Japanese (the demo roster's `language = "ja"`, issue 25).
    assert [t.value for t in ken.toast] == [f"**{UMA}** がヘルプを求めています"]


def last_said(wired: Wired, sid: str) -> str | None:
    """The call's last line, read by its team's lead (the service token reads no words)."""
    with wired.api("ken") as http:
        answer = http.get(f"/api/conferences/{sid}")
    transcript = (answer.json() if answer.status_code == 200 else {}).get("transcript") or {}
    return (transcript.get("last") or {}).get("text")


def test_a_phrase_said_again_rings_once(floor: tuple[Wired, Settings]) -> None:
    wired, settings = floor
    app = wired.sim.thread.app
    app.state.transcriber.words_per_second = 40.0
    call = wired.new_call("uma")  # billing transcribes every call
    sid = call["conference_sid"]
    wired.wait(lambda: ((wired.conference(sid) or {}).get("transcript") or {}).get("state") == "on",
               10)  # fmt: skip
    ken = app_as(settings, "ken").run()
    seen: list[str] = []
    for text in ("I want to cancel my account", "解約したい, cancel my account now",
                 "Cancel my account!"):  # fmt: skip
        with wired.sim.control() as http:
            http.post(f"/sim/conferences/{sid}/actions", json={
                "action": "say", "call_sid": call["customer_call_sid"], "text": text})  # fmt: skip
        wired.wait(lambda t=text: last_said(wired, sid) == t, 10)
        ken.run()
        seen += [t.value for t in ken.toast]
    assert seen == [f"**{UMA}** の通話で「cancel my account」"]  # ken reads Japanese (issue 25)
    [row] = first_board(ken)["rows"].values()
    assert row["why"].count("cancel my account") == 1
    assert not app_as(settings, "ken").run().toast  # nor on a reload


def test_queues_offers_listen_only_where_the_floor_does(floor: tuple[Wired, Settings]) -> None:
    """Issue 28: Queues' Listen offered calls a lead may not join; the page now tells the
    browser the teams whose calls Listen is for (a manager: every team, null)."""
    _, settings = floor
    for who, teams in (("ana", ["sales-east"]), ("ken", ["billing", "support"]), ("mina", None)):
        at = app_as(settings, who).run()
        at.switch_page("views/queues.py").run()
        assert not at.exception
        [data] = [d for d in component_data(at) if d.get("mode") == "queues"]
        assert (sorted(data["teams"]) if data["teams"] is not None else None) == teams, who


def joined_to_listen(floor: tuple[Wired, Settings]) -> AppTest:
    """mina's floor page after she clicks Listen on a new call of bob's: its message shown."""
    wired, settings = floor
    sid = wired.new_call("bob")["conference_sid"]
    at = choose(app_as(settings, "mina").run(), sid)
    at.button(key=f"floor-{sid}-listen").click().run()
    assert not at.exception
    assert "your phone rings" in texts(at)
    return at


def test_an_actions_message_stays_through_the_reruns_it_causes(
    floor: tuple[Wired, Settings],
) -> None:
    """Issue 28: a join's message flashed for 0.1 s (the join redraws the floor at once);
    it now stays a few seconds of runs, in the controls' box beside the buttons."""
    at = joined_to_listen(floor)
    for _ in range(2):  # the reruns the join itself brings (its leg rings, connects)
        at.run()
        assert "your phone rings" in texts(at)


def test_an_actions_message_comes_late_and_is_still_shown(
    floor: tuple[Wired, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message's seconds start when it is first shown: a run that comes after them (a
    loaded machine, a slow answer from Twilio) still shows it, once. Here its seconds are
    none at all."""
    from dashboard import ui

    monkeypatch.setattr(ui, "FLASH_SECONDS", 0.0)
    at = joined_to_listen(floor)
    at.run()
    assert "your phone rings" not in texts(at)
