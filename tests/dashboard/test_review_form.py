"""Issue 28: QA's review on the Calls page. A criterion can be N/A (an unchecked box was
saved as fail), the review sits beside the call with its outcome shown at the form, a
second save edits the reviewer's review (it added another), and the export is one click
named for what it holds."""

from __future__ import annotations

import html
from typing import Any

from core.settings import Settings
from core.times import ms_of
from dashboard.actions import Acting, Service
from tests.conftest import Wired, session_token
from tests.dashboard.test_dashboard_pages import app_as, floor, texts

__all__ = ["floor"]  # the fixture, shared with the pages' tests


def archived(wired: Wired, sid: str) -> dict[str, Any] | None:
    with wired.api("quincy") as http:
        answer = http.get(f"/api/history/{sid}")
    return answer.json() if answer.status_code == 200 else None


def test_qa_reviews_with_na_then_edits_the_same_review(floor: tuple[Wired, Settings]) -> None:
    wired, settings = floor
    call = wired.new_call("uma")  # billing: its team has review criteria
    sid = call["conference_sid"]
    wired.act(sid, "end")
    wired.wait(lambda: archived(wired, sid) is not None, 20)
    at = app_as(settings, "quincy").run()
    at.switch_page("views/calls.py")
    at.query_params["sid"] = sid
    at.run()
    assert not at.exception
    assert at.radio(key=f"crit-{sid}-new-Resolved").value == "N/A"  # nothing marked: N/A
    at.radio(key=f"crit-{sid}-new-Verified the caller").set_value("Pass")
    at.radio(key=f"crit-{sid}-new-Resolved").set_value("Fail")
    # No score until one is given (an untouched form once saved the slider's 80): refused.
    assert at.number_input(key=f"score-{sid}-new").value is None
    at.button[[b.label for b in at.button].index("Save review")].click().run()
    assert "Give the call a score (0 to 100) first." in texts(at)
    assert (archived(wired, sid) or {})["reviews"] == []
    at.number_input(key=f"score-{sid}-new").set_value(70)
    at.text_area(key=f"notes-{sid}-new").input("polite; 確認なし")
    at.button[[b.label for b in at.button].index("Save review")].click().run()
    assert not at.exception
    assert "Review saved" in texts(at)
    [first] = (archived(wired, sid) or {})["reviews"]
    assert first["criteria"] == {"Greeted and gave their name": None,
                                 "Verified the caller": True, "Paused for the card": None,
                                 "Resolved": False}  # fmt: skip
    assert first["score"] == 70 and first["notes"] == "polite; 確認なし"
    # The form now holds that review, to edit.
    version = f"{sid}-{first['at']}"
    assert "Edit your review" in texts(at)
    assert at.radio(key=f"crit-{version}-Resolved").value == "Fail"
    assert at.text_area(key=f"notes-{version}").value == "polite; 確認なし"
    at.radio(key=f"crit-{version}-Resolved").set_value("N/A")
    at.number_input(key=f"score-{version}").set_value(85)
    at.button[[b.label for b in at.button].index("Save changes")].click().run()
    assert "Review changed" in texts(at)
    [edited] = (archived(wired, sid) or {})["reviews"]  # still one review
    assert edited["id"] == first["id"] and edited["score"] == 85
    assert edited["criteria"]["Resolved"] is None and edited["criteria"]["Verified the caller"]
    # One click exports, named for what it holds: QA sees every team.
    export = [b for b in at.get("download_button") if "Export reviews" in str(b.proto.label)]
    assert [str(b.proto.label) for b in export] == ["Export reviews of all teams (CSV)"]
    # What the button sends: the API's export, with quincy's session (issue 24), audited.
    service = Service(wired.service.url)
    try:
        made = Acting(service, session_token(settings, "quincy"), "quincy").reviews_csv()
    finally:
        service.close()
    assert sid in made and "polite; 確認なし" in made
    with wired.api("mina") as http:
        entries = http.get("/api/audit", params={"supervisor": "quincy"}).json()["entries"]
    assert {e["action"] for e in entries} >= {"review", "export"}


def test_an_ended_calls_page_keeps_who_it_was_and_links_to_its_record(
    floor: tuple[Wired, Settings],
) -> None:
    wired, settings = floor
    call = wired.new_call("uma")
    sid = call["conference_sid"]
    wired.act(sid, "end")
    wired.wait(lambda: archived(wired, sid) is not None, 20)
    at = app_as(settings, "mina").run()
    at.switch_page("views/call.py")
    at.query_params["sid"] = sid
    at.run()
    assert not at.exception
    # Not "No agent yet · —": the agent by the roster's name (Markdown entities in the title).
    assert [html.unescape(t.value) for t in at.title] == ["鈴木 一郎 (uma) · billing"]
    said = texts(at)
    assert "This call ended at" in said and "Customer" in said
    assert "participant-with-end-conference-on-exit-left" not in said
    links = [p for p in at.get("page_link") if "Open its record" in str(p.proto.label)]
    assert len(links) == 1


def conference_as_manager(wired: Wired, sid: str) -> str:
    """The live conference as mina reads it (the service token reads no words)."""
    with wired.api("mina") as http:
        return http.get(f"/api/conferences/{sid}").text


def test_search_words_are_marked_and_a_line_plays_the_recording_there(
    floor: tuple[Wired, Settings],
) -> None:
    wired, settings = floor
    app = wired.sim.thread.app
    app.state.transcriber.words_per_second = 40.0
    call = wired.new_call("uma")  # billing transcribes and records every call
    sid = call["conference_sid"]
    wired.wait(lambda: ((wired.conference(sid) or {}).get("transcript") or {}).get("state") == "on",
               10)  # fmt: skip
    for text in ("I want to cancel my account", "請求書の件で解約したいです"):
        with wired.sim.control() as http:
            http.post(f"/sim/conferences/{sid}/actions", json={
                "action": "say", "call_sid": call["customer_call_sid"], "text": text})  # fmt: skip
        wired.wait(lambda t=text: t in conference_as_manager(wired, sid), 10)
    wired.act(sid, "end")

    def ready() -> bool:
        record = archived(wired, sid) or {}
        done = [r for r in record.get("recordings") or () if r.get("status") == "completed"]
        return len(record.get("transcript") or ()) >= 2 and bool(done)

    wired.wait(ready, 30)
    at = app_as(settings, "quincy").run()
    at.switch_page("views/calls.py")
    at.query_params["sid"] = sid
    at.run()
    at.text_input(key="h-q").input("CANCEL 解約").run()
    marked = [str(m.value) for m in at.markdown if "orange-background" in str(m.value)]
    assert any(":orange-background[cancel]" in m for m in marked), marked
    assert any(":orange-background[解約]" in m for m in marked), marked
    seek = [b for b in at.button if b.key and b.key.startswith(f"seek-{sid}-")]
    assert len(seek) >= 2
    assert not at.get("audio")  # nothing plays until asked
    minutes, seconds = seek[-1].label.split(":")
    seek[-1].click().run()
    # The player, from that line's second in the recording's file: the button says the
    # line's time in the call, and the recording began when the agent was with the
    # customer (archive/playback.py), so the file is that much behind the call.
    [audio] = at.get("audio")
    record = archived(wired, sid) or {}
    (recording,) = [r for r in record["recordings"] if r.get("status") == "completed"]
    line = record["transcript"][-1]
    in_call = int(minutes) * 60 + int(seconds)
    late = (ms_of(recording["started_at"]) - ms_of(record["started_at"])) // 1000
    assert audio.proto.start_time == max(
        0, (ms_of(line["at"]) - ms_of(recording["started_at"])) // 1000
    )
    assert audio.proto.start_time == max(0, in_call - late)


def test_the_calls_page_audits_reading_words_once_a_session(
    floor: tuple[Wired, Settings],
) -> None:
    """The Calls page reads the archive itself: its reads of words are audited as the API's
    are (an ended call opened whole, a search of what was said), once a session each."""
    wired, settings = floor
    wired.sim.thread.app.state.transcriber.words_per_second = 40.0
    call = wired.new_call("tara")  # billing transcribes every call
    sid = call["conference_sid"]

    def mina_reads(path: str) -> Any:
        with wired.api("mina") as http:
            return http.get(path).json()

    wired.wait(lambda: (mina_reads(f"/api/conferences/{sid}").get("transcript") or {})
               .get("state") == "on", 10)  # fmt: skip
    with wired.sim.control() as http:
        said = {"action": "say", "call_sid": call["customer_call_sid"], "text": "解約したいです"}
        http.post(f"/sim/conferences/{sid}/actions", json=said)
    wired.wait(lambda: bool(mina_reads(f"/api/conferences/{sid}/transcript")["lines"]), 10)
    wired.act(sid, "end")
    wired.wait(lambda: bool(mina_reads(f"/api/history/{sid}").get("transcript")), 20)

    def reads() -> list[tuple[str, str]]:
        return [(e["conference_sid"], e["detail"]) for e in mina_reads("/api/audit")["entries"]
                if e["action"] == "words-read" and e["supervisor"] == "quincy"]  # fmt: skip

    assert reads() == []
    at = app_as(settings, "quincy").run()
    at.switch_page("views/calls.py")
    at.query_params["sid"] = sid
    at.run()
    assert not at.exception
    assert "解約したいです" in texts(at)
    at.run()  # Streamlit runs the page again on every click: one read still
    assert reads() == [(sid, "Calls page: an ended call")]
    at.text_input(key="h-q").input("かいやく").run()
    assert not at.exception
    at.run()
    assert sorted(reads()) == [
        ("", "Calls page search (words of every team)"),
        (sid, "Calls page: an ended call"),
    ]


def test_editing_a_review_keeps_a_score_with_a_fraction(
    floor: tuple[Wired, Settings],
) -> None:
    """The API takes a score with a fraction: an edit shows it and keeps it (a trial found
    72.5 cut to 72 by the slider the form had then)."""
    wired, settings = floor
    sid = wired.new_call("uma")["conference_sid"]
    wired.act(sid, "end")
    wired.wait(lambda: archived(wired, sid) is not None, 20)
    with wired.api("quincy") as http:
        made = http.post(f"/api/history/{sid}/reviews", json={"score": 72.5, "notes": "ok"})
        assert made.status_code in (200, 201), made.text
    [first] = (archived(wired, sid) or {})["reviews"]
    at = app_as(settings, "quincy").run()
    at.switch_page("views/calls.py")
    at.query_params["sid"] = sid
    at.run()
    version = f"{sid}-{first['at']}"
    assert at.number_input(key=f"score-{version}").value == 72.5
    # Nobody listened to it: said so, not an empty table (which says "empty" in English).
    assert "Nobody listened to this call." in texts(at)
    at.text_area(key=f"notes-{version}").input("ok; 丁寧")
    at.button[[b.label for b in at.button].index("Save changes")].click().run()
    assert "Review changed" in texts(at)
    [edited] = (archived(wired, sid) or {})["reviews"]
    assert edited["notes"] == "ok; 丁寧" and edited["score"] == 72.5
