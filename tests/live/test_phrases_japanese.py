"""Phrase alerts in Japanese and in English (issue 23): a corpus of transcript lines with the
phrases each must and must not raise, matched directly and through the real webhook (the
simulator transcribes a Japanese team's call and posts Twilio's signed callbacks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from live.phrases import BadPhrase, Matcher, Phrase
from live.roster import load
from tests.conftest import Wired
from tests.live.test_transcript import quiet, say, transcriber, transcript


def wide(ascii_text: str) -> str:
    """The same letters in full width (as an IME types them)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in ascii_text)


ROSTER = load(None)  # the demo roster: jp-support speaks Japanese, billing English
JP = ROSTER.teams["jp-support"]  # 解約, 責任者, クレーム, 弁護士; not クレーム対応
EN = ROSTER.teams["billing"]  # cancel my account, speak to your manager, chargeback, lawyer

# A line, and the jp-support phrases it raises (nothing else).
JAPANESE: list[tuple[str, set[str]]] = [
    ("解約したいです", {"解約"}),  # no spaces: the word inside the sentence
    ("もう解約します" + wide("!"), {"解約"}),  # with a full-width mark
    ("カイヤクしたいんですが", {"解約"}),  # katakana spelling
    ("かいやくしたいです", {"解約"}),  # hiragana spelling, which the analyser cuts badly
    ("解約金はいくらですか", set()),  # another word (a team that wants it names it)
    ("契約を更新したいです", set()),  # shares 約, is not 解約
    ("ちかいやくそくがあります", set()),  # かいやく inside 近い約束: not at a word's start
    ("責任者を出してください", {"責任者"}),
    ("責任をとってください", set()),  # 責任 is not 責任者
    ("クレームを言いたいんですけど", {"クレーム"}),
    ("ｸﾚｰﾑです", {"クレーム"}),  # half-width katakana
    ("くれーむをいいたい", {"クレーム"}),  # hiragana
    ("クレームブリュレが美味しかったです", set()),  # the false hit of the `re:` workaround
    ("クレーム対応の部署はどこですか", set()),  # the team's not_phrases
    ("弁護士に相談します", {"弁護士"}),
    ("責任者と弁護士を呼んでください", {"責任者", "弁護士"}),
    ("お電話ありがとうございます", set()),
]

# The same for English lines and the billing team's phrases.
ENGLISH: list[tuple[str, set[str]]] = [
    ("I want to CANCEL my account!", {"cancel my account"}),
    (wide("CANCEL my account") + " please", {"cancel my account"}),  # full-width letters
    ("cancel my accountant", set()),  # whole words
    ("My lawyer will call you", {"lawyer"}),
    ("two lawyers", set()),
    ("I will file a chargeback", {"chargeback"}),
    ("Let me speak to your manager now", {"speak to your manager"}),
    ("thank you, goodbye", set()),
]


def team_matcher(team: Any) -> Matcher:
    return Matcher.of(team.phrases, team.not_phrases)


@pytest.mark.parametrize(("line", "raised"), JAPANESE, ids=[line for line, _ in JAPANESE])
def test_a_japanese_line_raises_its_phrases_and_no_others(line: str, raised: set[str]) -> None:
    assert set(team_matcher(JP).matches(line)) == raised


@pytest.mark.parametrize(("line", "raised"), ENGLISH, ids=[line for line, _ in ENGLISH])
def test_an_english_line_raises_its_phrases_and_no_others(line: str, raised: set[str]) -> None:
    assert set(team_matcher(EN).matches(line)) == raised


def test_a_team_excludes_a_false_hit_in_either_language() -> None:
    english = Matcher.of(["lawyer"], ["lawyer up"])
    assert english.matches("time to lawyer up") == []
    assert english.matches("I want my lawyer") == ["lawyer"]
    japanese = Matcher.of(["クレーム"], ["クレーム対応"])
    assert japanese.matches("クレーム対応の件です") == []
    # Excluded where the longer words are said, not on the whole line.
    assert japanese.matches("クレーム対応ではなくクレームです") == ["クレーム"]


def test_a_pattern_sees_the_line_folded_and_keeps_its_syntax() -> None:
    kana = Matcher.of(["re:クレーム(?!ブリュレ)"])  # a team's own way out of the false hit
    assert kana.matches("ｸﾚｰﾑです") == ["re:クレーム(?!ブリュレ)"]  # half-width
    assert kana.matches("くれーむです") == ["re:クレーム(?!ブリュレ)"]  # hiragana
    assert kana.matches("クレームブリュレです") == []
    english = Matcher.of([r"re:\bswitch(ing)? to (acme|globex)\b"])
    assert english.matches(wide("Switching") + " to Globex") != []
    assert english.matches("switchingto globex") == []


def test_phrases_are_checked_at_load() -> None:
    with pytest.raises(BadPhrase):
        Phrase.of("、。")  # punctuation only: no word to match
    assert Phrase.of("責任者").japanese and not Phrase.of("lawyer").japanese


def test_only_a_line_that_may_hold_a_japanese_phrase_is_analysed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`analyses` says exactly when `matches` runs the analyser (the cost a Japanese line
    adds to ingest is the analyser's, so the cheap check must let few lines through)."""
    import live.japanese
    import live.phrases

    calls: list[str] = []
    real = live.japanese.tokens  # what live.phrases imports as `tokens`

    def counted(text: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(live.phrases, "tokens", counted)
    matcher = team_matcher(JP)
    for line, _ in [*JAPANESE, *ENGLISH, ("少々お待ちください", set())]:
        calls.clear()
        matcher.matches(line)
        assert matcher.analyses(line) == bool(calls), line
    assert not matcher.analyses("少々お待ちください")  # no hint of any phrase
    assert matcher.analyses("クレームブリュレが美味しかったです")  # a hint: the analyser decides
    assert not team_matcher(EN).analyses("解約したいです")  # no Japanese phrase to find


@pytest.fixture
def floor(wiring: Callable[..., Wired]) -> Wired:
    wired = wiring()
    transcriber(wired)
    return wired


@pytest.mark.parametrize(("agent", "corpus"), [("sato", JAPANESE), ("tara", ENGLISH)],
                         ids=["jp-support", "billing"])  # fmt: skip
def test_the_corpus_through_the_webhook_raises_what_it_should(
    floor: Wired, agent: str, corpus: list[tuple[str, set[str]]]
) -> None:
    """A call of the team (transcribe = always; jp-support in ja-JP): the customer says
    every corpus line, the simulator posts Twilio's signed callbacks, and the conference
    shows exactly the phrase hits each line should raise."""
    call = floor.new_call(agent)
    sid = call["conference_sid"]
    floor.wait(lambda: (floor.conference(sid) or {}).get("transcript", {}).get("state") == "on",
               10)  # fmt: skip
    for line, _ in corpus:
        say(floor, sid, call["customer_call_sid"], line)
        quiet(floor)
    wanted = {line for line, _ in corpus}

    def finals() -> set[str]:
        return {x["text"] for x in transcript(floor, sid)["lines"] if x["final"]} & wanted

    floor.wait(lambda: finals() == wanted, 15)
    hits: dict[str, set[str]] = {}
    for hit in transcript(floor, sid)["phrases"]:
        hits.setdefault(hit["line"]["text"], set()).add(hit["phrase"])
    assert {line: hits.get(line, set()) for line, _ in corpus} == dict(corpus)
    assert "phrase" in (floor.conference(sid) or {})["alerts"]
