# ruff: noqa: RUF001 - Japanese sentences use full-width parentheses
"""Issue 25: the codes live/ and coach/ keep, said in the reader's language by the dashboard
(dashboard/words.py): timeline entries, refusals, alerts. English stays as it was written."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from dashboard import i18n, words
from live.redact import CARD, DIGITS, mask
from live.roster import Supervisor
from live.roster import load as load_roster


def said_in(language: str, say: Callable[[], str | None]) -> str | None:
    """`say()` as a reader of `language` reads it (the session's language is Streamlit's)."""
    token = i18n._FIXED.set(language)
    try:
        return say()
    finally:
        i18n._FIXED.reset(token)


def demo_page() -> Any:
    """A page as dashboard/reading.py reads one: the demo roster's people."""
    return SimpleNamespace(runtime=SimpleNamespace(roster=load_roster(None)))


def test_timeline_entries_from_their_codes() -> None:
    entry = ("participant-join", "agent:tara", "agent tara joined")
    assert said_in("en", lambda: words.timeline(*entry)) == "agent tara joined"
    assert said_in("ja", lambda: words.timeline(*entry)) == "エージェント tara が参加"
    # An archived entry has no `reason` code: read from its English text.
    ended = ("conference-end", "", "the call ended (the last person left)")
    assert said_in("ja", lambda: words.timeline(*ended)) == "通話終了（最後の参加者が退出）"
    whisper = ("participant-modify", "supervisor:mina", "supervisor mina started whispering")
    assert said_in("ja", lambda: words.timeline(*whisper)) == (
        "スーパーバイザー mina がエージェントへのウィスパーを開始"
    )


def test_refusals_in_the_readers_words_and_english_as_written() -> None:
    message = "mina is on another call (CF123)"
    assert said_in("en", lambda: words.error("busy-elsewhere", message)) == message
    assert said_in("ja", lambda: words.error("busy-elsewhere", message)) == (
        "別の通話に参加中です。先に退出してください。"
    )
    assert said_in("ja", lambda: words.error("twilio-20404", "Twilio refused (20404)")) == (
        "Twilio がリクエストを拒否しました（20404）。"
    )
    assert said_in("ja", lambda: words.error("something-new", "as is")) == "as is"
    ken = Supervisor(id="ken", name="Ken Sato", role="lead", teams=("billing",), endpoint="")
    english = "Ken Sato leads billing; this call is sales"
    assert said_in("en", lambda: words.mode_refusal(ken, "listen", "sales", english)) == (english)
    assert said_in("ja", lambda: words.mode_refusal(ken, "listen", "sales", english)) == (
        "Ken Sato の担当は billing です。この通話は sales です"
    )
    assert words.mode_refusal(ken, "listen", "billing", None) is None


def test_alerts_and_unknown_codes() -> None:
    # A list in the reader's language (Babel's): a trial found "フレーズ発言, 無音".
    assert said_in("ja", lambda: words.alerts(["help", "long-hold"])) == "ヘルプ要求、長時間保留"
    assert (
        said_in("en", lambda: words.alerts(["help", "long-hold", "dead-air"]))
        == "asked for help, long hold, and dead air"
    )
    assert said_in("en", lambda: words.alerts([], "none")) == "none"
    assert said_in("ja", lambda: words.word(words.ALERTS, "brand-new")) == "brand-new"


def test_an_agents_help_on_the_calls_timeline_in_the_readers_words() -> None:
    """The audit keeps an English sentence for its log ("tara asks for help"); the call's
    timeline says the entry from its codes instead (a Japanese tour found the English)."""
    from dashboard.views.call import action_text

    page = demo_page()
    asked = {"action": "help", "supervisor": "", "agent": "tara", "detail": "tara asks for help"}
    assert said_in("en", lambda: action_text(page, asked)) == "agent 田中 愛 (tara) asks for help"
    assert (
        said_in("ja", lambda: action_text(page, asked))
        == "エージェント 田中 愛 (tara) がヘルプを要請"
    )
    answered = {"action": "help-answered", "supervisor": "mina", "agent": "tara",
                "detail": "tara asked"}  # fmt: skip
    assert said_in("ja", lambda: action_text(page, answered)) == (
        "スーパーバイザー Mina Park：エージェントのヘルプ要請に応答"
    )
    card = {"action": "card", "supervisor": "mina", "detail": "verify the address"}
    assert (
        said_in("en", lambda: action_text(page, card))
        == "supervisor Mina Park sent a card: verify the address"
    )
    # Someone the roster no longer has is said by the ID the audit kept.
    gone = {"action": "card", "supervisor": "olga", "detail": "hi"}
    assert said_in("en", lambda: action_text(page, gone)) == "supervisor olga sent a card: hi"


def test_a_read_of_the_words_on_the_calls_timeline_in_the_readers_words() -> None:
    """The audit keeps how a read was made and the endpoint, for its log; the call's
    timeline says what was read (a trial found "発言を閲覧 (ticket): GET /events/transcript")."""
    from dashboard.views.call import action_text

    live = {"action": "words-read", "supervisor": "haruka", "mode": "ticket",
            "detail": "GET /events/transcript"}  # fmt: skip
    page = demo_page()
    assert said_in("ja", lambda: action_text(page, live)) == (
        "スーパーバイザー 佐々木 春香：リアルタイム文字起こしを閲覧\uff08ダッシュボードで\uff09"
    )
    assert said_in("en", lambda: action_text(page, live)) == (
        "supervisor 佐々木 春香 read the live transcript (on the dashboard)"
    )
    # A read this page does not name, by a credential it does not know: the words, no how.
    other = {"action": "words-read", "supervisor": "ken", "mode": "carrier-pigeon",
             "detail": "GET /events"}  # fmt: skip
    assert said_in("en", lambda: action_text(page, other)) == "supervisor Ken Sato read the words"


def test_the_maskings_markers_in_the_readers_words() -> None:
    """A masked line keeps live/redact.py's markers (the archive, the API); the pages say them
    in the reader's language (a trial found "[card number]" inside a Japanese line)."""
    japanese = mask("カード番号は4111 1111 1111 1111です")
    english = mask("my card is 4111 1111 1111 1111 and the code is 123")
    assert japanese == f"カード番号は{CARD}です"
    assert said_in("ja", lambda: words.said(japanese)) == "カード番号は［カード番号］です"
    assert said_in("en", lambda: words.said(english)) == english
    assert CARD in english and DIGITS in english
    assert said_in("ja", lambda: words.said(f"暗証番号は{DIGITS}です")) == "暗証番号は［数字］です"
