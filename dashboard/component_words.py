"""The words the browser components write (issue 25), marked for the catalogue and sent
in the reader's language with each component's data (`words`, `plurals`, `reasons`).

A component looks each English label up in `words` (dashboard/board_component/board.js
`t`), so the label in the JavaScript and the msgid here are one string: a test
(tests/dashboard/test_i18n_catalogue.py) fails on a `t("…")` of a component that is not here.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from dashboard import i18n
from dashboard.i18n import N_, _, ngettext
from live.attention import REASONS

BOARD = (
    # The call table's columns and the tiles (board.js COLUMNS, TILES).
    N_("Agent"), N_("Team"), N_("Queue"), N_("Customer"), N_("State"), N_("Duration"),
    N_("On hold"), N_("Holds"), N_("Monitoring"), N_("Speaking"), N_("Agent talk"),
    N_("Silence"), N_("Alerts"), N_("Last said"), N_("Attention"), N_("Why"),
    N_("Live calls"), N_("Waiting"), N_("Monitored"), N_("Longest call"), N_("Longest wait"),
    N_("Live calls: Tab to a row, arrow keys to move, Enter to choose it"),
    # A row's state and alerts: codes on the stream (live/board.py), words here.
    N_("waiting"), N_("talking"), N_("hold"),
    N_("HELP"), N_("phrase"), N_("customer-alone"), N_("agent-alone"), N_("duplicate"),
    N_("long-hold"), N_("dead-air"), N_("overtalk"), N_("long-call"), N_("long-wait"),
    N_("routing-stuck"), N_("service-level"), N_("long-wrap-up"), N_("long-away"),
    N_("; "),
    # Who monitors a call (live/board.py `monitors`): a supervisor's name and mode.
    N_("listen"), N_("whisper"), N_("barge"), N_("{name} ({mode})"),
    N_("{name} ({mode} · dialing)"), N_("{name} (listen · browser)"), N_(", "),
    # A reason's phrases (live/attention.py): each quoted, or none named.
    N_("“{phrase}”"), N_("a phrase"), N_("the call said a phrase to watch"),
    # The stream's state.
    N_("Connecting to the live floor…"), N_("Reconnecting to the live floor…"),
    N_("Cannot reach the live floor at {host}; trying again…"),
    N_("Cannot reach the live floor; trying again…"),
    N_("The live floor at {host} refused the stream; trying again in {seconds} s…"),
    N_("{reason}. The floor shows again as soon as it answers."),
    N_("{reason}. The queues show again as soon as it answers."),
    N_("{reason}. This page catches up when it answers."),
    N_("No news from the live floor for {seconds} s; the board is paused until it speaks again."),
    N_("Signed out."), N_("updated {time}"), N_("Notice"),
    # live/board_hub.py's reasons (STALLED, and the start of the one naming Redis's error).
    N_("The live floor is out of reach (Redis is not answering)"),
    N_("The live floor is out of reach"),
    # Queues, wallboard and agents (board.js QUEUE_FIGURES, ALERT_WHY, the cards).
    N_("Service level"), N_("Answered"), N_("Abandoned"), N_("Avg answer"),
    N_("Agents free / busy / other"), N_("a caller has waited too long"),
    N_("service level below target"), N_("callers wait while agents are free"),
    N_("No TaskQueue has had a caller yet."), N_("target {percent}%"),
    N_("answered today"), N_("abandoned"), N_("service level"),
    N_("Agents"), N_("Doing"), N_("For"), N_("Call"), N_("Listen"), N_("Wrap-up"),
    N_("On a call"), N_("(after-call change failed: {error})"),
    N_("{activity} after this call ({reason})"), N_("{activity} after this call"),
    N_("on a call"), N_("wrap-up"), N_("available"), N_("no team"), N_("call {sid}"),
    N_("after-call change failed: {error}"),
    N_("after this call: {activity} (by {by}) — {reason}"),
    N_("after this call: {activity} (by {by})"),
)  # fmt: skip

# listen_component/listen.js: the player.
LISTEN = (
    N_("Connecting…"), N_("Stop hearing this call"), N_("This call's level"), N_("Level"),
    N_("Mute"), N_("Reconnecting…"), N_("Live"), N_("Hearing in the browser: {who}"),
    N_("Ended"), N_("Signed out"), N_("Refused"), N_("Closed"), N_("Volume"),
    N_("Customer left, agent right"), N_("Start audio"), N_("Scanning: {seconds} s a call"),
    N_(", "),
)  # fmt: skip

# transcript_component/transcript.js: the call page's live transcript.
TRANSCRIPT = (
    N_("Connecting…"), N_("New lines ↓"), N_("Reconnecting to the live transcript…"),
    N_("Customer"), N_("Agent"), N_("No words yet."),
    N_("Transcribing live (card numbers are masked)."), N_("Starting the transcription…"),
    N_("Paused for a payment by {who} — nothing said now is transcribed."),
    N_("The transcription failed: {error}"), N_("Not being transcribed now."),
    N_("(said {count} times; the latest)"), N_("“{phrase}”{times} — {who} at {time}: "),
    N_("(muted)"), N_("[card number]"), N_("[digits]"),
)  # fmt: skip

# live/attention.py's REASONS, the Why column's English (kept on the stream, as the API has
# it): the component reads each reason back against its template and writes it again.
REASON_WORDS = {
    "help": N_("{agent} asked for help"),
    "phrase": N_("the call said {phrase}"),
    "customer-alone": N_("the customer is alone on the line"),
    "agent-alone": N_("the agent is alone on the line"),
    "duplicate": N_("a duplicate conference holds a lone participant"),
    "long-hold": N_("on hold for {hold}"),
    "dead-air": N_("nobody has spoken for {silence}"),
    "overtalk": N_("agent and customer talk over each other"),
    "long-call": N_("the call has lasted {duration}"),
    "long-wait": N_("the caller has waited {wait}"),
    "waiting": N_("the caller has waited {wait}"),
}

# Counted phrases: [one, other] in the reader's language (ngettext for 1 and for 2).
PLURALS = (
    (
        "{shown} of {n} call shown ({live} live) · updated {time}",
        "{shown} of {n} calls shown ({live} live) · updated {time}",
    ),
    ("caller waiting", "callers waiting"),
    (
        "{shown} of {n} agent · longest in their state first",
        "{shown} of {n} agents · longest in their state first",
    ),
)


def _plural_marks() -> None:
    """Never called: the PLURALS above as the extraction sees them (ngettext calls)."""
    ngettext(
        "{shown} of {n} call shown ({live} live) · updated {time}",
        "{shown} of {n} calls shown ({live} live) · updated {time}",
        1,
    )
    ngettext("caller waiting", "callers waiting", 1)
    ngettext(
        "{shown} of {n} agent · longest in their state first",
        "{shown} of {n} agents · longest in their state first",
        1,
    )


def words(messages: tuple[str, ...]) -> dict[str, Any]:
    """A component's `words` alone (the player, the transcript: no counted phrases)."""
    return _words(messages, i18n.language())


def data() -> dict[str, Any]:
    """What the board component needs to write its words: add it to its data (made once
    per language: the same for every run; nobody changes it, Streamlit only sends it)."""
    return _data(i18n.language())


@lru_cache(maxsize=16)
def _words(messages: tuple[str, ...], language: str) -> dict[str, Any]:
    return {"words": {m: _(m) for m in messages}}


@lru_cache(maxsize=len(i18n.LANGUAGES))
def _data(language: str) -> dict[str, Any]:
    return {
        "words": {m: _(m) for m in BOARD},
        "plurals": {
            one: [ngettext(one, other, 1), ngettext(one, other, 2)] for one, other in PLURALS
        },
        # The English template as live/attention.py writes it, and its translation (the
        # same for an English reader: the board still reads the values back, to name the
        # row's agent as its Agent cell does).
        "reasons": [
            [REASONS[code], _(said)] for code, said in REASON_WORDS.items() if code in REASONS
        ],
    }
