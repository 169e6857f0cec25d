"""live/transcript_view.py in-process: a live call's transcript as readers see it, from the
stored document's short fields (core/documents.py): a line's id and order, the state with
who paused it only while paused, and the phrase hits of the call's own team, in English
and in Japanese."""

from __future__ import annotations

from core.documents import Conference
from core.languages import is_offered, primary
from live.transcript_view import line_json, transcript_state

AT_MS = 1_000_000_000_000  # 2001-09-09T01:46:40Z: any moment, shown as ISO 8601


def test_a_stored_line_reads_with_its_id_and_order() -> None:
    raw = {"s": "customer", "t": "解約したいです", "at": AT_MS, "f": 1, "q": 7, "g": "GT1"}
    assert line_json(raw) == {
        "speaker": "customer", "text": "解約したいです", "at": "2001-09-09T01:46:40Z",
        "final": True, "seq": 7, "id": "GT1:7",
    }  # fmt: skip
    partial = line_json({"s": "agent", "t": "", "q": 8, "g": "GT1"})
    assert (partial["final"], partial["id"], partial["at"]) == (False, "GT1:8", None)
    assert line_json({"t": "no transcription named"})["id"] is None


def conference(state: str) -> Conference:
    return {
        "sid": "CF1",
        "participants": {},
        "monitors": {},
        "transcript": {
            "state": state,
            "paused_by": "ken",
            "since": AT_MS,
            "error": "Twilio refused (32655)",
            "language": "ja-JP",
            "last_line": {"speaker": "customer", "text": "cancel my account", "at": AT_MS},
        },
        "phrases_heard": [
            {"phrase": "cancel my account", "speaker": "customer", "text": "cancel my account"},
            {"phrase": "解約", "speaker": "customer", "text": "解約したいです", "at": AT_MS},
            {"phrase": "another team's phrase", "speaker": "agent", "text": "..."},
        ],
        "phrases_muted": {"解約": {"by": "ken", "at": AT_MS}},
    }


def test_who_paused_and_the_error_show_only_in_their_state() -> None:
    paused, _ = transcript_state(conference("paused"), ())
    assert (paused["state"], paused["paused_by"], paused["error"]) == ("paused", "ken", None)
    on, _ = transcript_state(conference("on"), ())
    assert (on["paused_by"], on["error"], on["language"]) == (None, None, "ja-JP")
    failed, _ = transcript_state(conference("error"), ())
    assert failed["error"] == "Twilio refused (32655)"
    assert failed["last"]["text"] == "cancel my account" and failed["last"]["final"] is True
    never, hits = transcript_state({"sid": "CF1", "participants": {}, "monitors": {}}, ("解約",))
    assert (never["state"], never["last"], hits) == ("off", None, [])


def test_the_hits_are_the_teams_phrases_each_with_whether_it_is_muted() -> None:
    _, hits = transcript_state(conference("on"), ("cancel my account", "解約"))
    assert [(h["phrase"], h["muted"], h["line"]["text"]) for h in hits] == [
        ("cancel my account", False, "cancel my account"),
        ("解約", True, "解約したいです"),
    ]
    _, none = transcript_state(conference("on"), ("refund",))
    assert none == []


def test_a_team_may_ask_only_for_a_language_twilios_engines_take() -> None:
    assert is_offered("ja-JP") and is_offered("en-US") and is_offered("ja")
    assert not is_offered("ja_JP") and not is_offered("JA-jp") and not is_offered("jp")
    assert (primary("ja-JP"), primary("cmn-Hans-CN"), primary("EN")) == ("ja", "cmn", "en")
