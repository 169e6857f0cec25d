"""A transcription language per team (issue 23): checked at load against what Twilio's
Real-Time Transcription offers, asked of Twilio through the SDK (the simulator records what it
was asked), kept with the live transcript and with the archived call, and searchable there."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from core.settings import SettingError, load
from live.japanese import has_japanese
from live.roster import parse
from tests.archive.test_archive import archived
from tests.conftest import Wired
from tests.live.test_transcript import quiet, say, state, transcriber, transcript
from twilio_sim.dialogues import DIALOGUES, JAPANESE, pick

TEAM = """
[teams.tokyo]
agents = ["sato"]
transcribe = "always"
{language}
[teams.london]
agents = ["bob"]
"""


def test_a_teams_language_is_read_and_the_default_is_the_setting() -> None:
    roster = parse(TEAM.format(language='language = "ja-JP"'), default_language="en-GB")
    assert roster.teams["tokyo"].language == "ja-JP"
    assert roster.teams["london"].language == "en-GB"  # EARPIECE_TRANSCRIPTION_LANGUAGE
    assert parse(TEAM.format(language="")).teams["london"].language == "en-US"


@pytest.mark.parametrize("code", ["ja_JP", "jp", "ja-jp-x", "klingon", "", "JA-JP"])
def test_an_unknown_code_refuses_the_roster_with_one_line_naming_team_and_code(code: str) -> None:
    with pytest.raises(SettingError) as refused:
        parse(TEAM.format(language=f'language = "{code}"'))
    message = str(refused.value)
    assert "\n" not in message
    assert "teams.tokyo.language" in message and repr(code) in message


def test_a_language_that_is_not_text_is_refused() -> None:
    with pytest.raises(SettingError, match=r"teams\.tokyo\.language"):
        parse(TEAM.format(language="language = 81"))


def test_the_default_setting_is_checked_too() -> None:
    base = {"REDIS_URL": "redis://127.0.0.1:1/0", "EARPIECE_DEMO": "true"}
    assert load({**base, "EARPIECE_TRANSCRIPTION_LANGUAGE": "ja-JP"},
                env_file=None).transcription_language == "ja-JP"  # fmt: skip
    with pytest.raises(SettingError, match="EARPIECE_TRANSCRIPTION_LANGUAGE 'ja_JP'"):
        load({**base, "EARPIECE_TRANSCRIPTION_LANGUAGE": "ja_JP"}, env_file=None)


def test_not_phrases_take_plain_words_only() -> None:
    body = TEAM.format(language='language = "ja-JP"\nnot_phrases = ["re:.*"]')
    with pytest.raises(SettingError, match="not_phrases"):
        parse(body)


@pytest.mark.parametrize("phrase", ["、。", "!!!"])
def test_a_phrase_with_no_words_refuses_the_roster_in_either_script(phrase: str) -> None:
    body = TEAM.format(language=f'language = "ja-JP"\nphrases = ["{phrase}"]')
    with pytest.raises(SettingError, match="no words to match"):
        parse(body)


def test_the_simulator_speaks_the_language_it_transcribes() -> None:
    rng = random.Random(4)
    for _ in range(20):
        japanese = pick(rng, "ja-JP")
        assert japanese in JAPANESE and all(has_japanese(said) for _, said in japanese)
        assert pick(rng, "en-US") in DIALOGUES


@pytest.fixture
def floor(wiring: Callable[..., Wired]) -> Wired:
    wired = wiring(EARPIECE_TRANSCRIPTION_GRACE_SECONDS="1", EARPIECE_RECONCILE_SECONDS="1")
    transcriber(wired)
    return wired


def test_each_teams_language_reaches_twilio_the_transcript_and_the_archive(floor: Wired) -> None:
    japanese = floor.new_call("sato")  # jp-support: ja-JP
    english = floor.new_call("tara")  # billing: the default, en-US
    floor.wait(lambda: state(floor, japanese["conference_sid"]) == "on", 10)
    floor.wait(lambda: state(floor, english["conference_sid"]) == "on", 10)
    engine = floor.sim.engine
    (asked_ja,) = transcriber(floor).listening(engine.conferences[japanese["conference_sid"]])
    (asked_en,) = transcriber(floor).listening(engine.conferences[english["conference_sid"]])
    # What Twilio was asked through the SDK (the simulator's Transcriptions create).
    assert asked_ja.language == "ja-JP" and asked_en.language == "en-US"
    sid = japanese["conference_sid"]
    assert transcript(floor, sid)["transcript"]["language"] == "ja-JP"
    say(floor, sid, japanese["customer_call_sid"], "解約したいです")
    quiet(floor)
    floor.wait(lambda: any(x["final"] for x in transcript(floor, sid)["lines"]), 10)
    floor.act(sid, "leave", japanese["customer_call_sid"])
    floor.wait(lambda: archived(floor, sid) is not None, 15)
    kept = archived(floor, sid) or {}
    assert kept["transcript_language"] == "ja-JP"
    assert [line["text"] for line in kept["transcript"]] == ["解約したいです"]
    with floor.api("haruka") as lead:  # jp-support's lead finds it by a word inside the line
        found = lead.get("/api/history", params={"q": "解約"}).json()["calls"]
        assert [c["sid"] for c in found] == [sid]
        assert lead.get("/api/history", params={"q": "契約"}).json()["calls"] == []
