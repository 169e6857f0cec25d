# ruff: noqa: RUF001 - Japanese punctuation (full-width ! and ?) is what these patterns read
"""Card numbers and security codes out of a transcript line, before anything keeps it.

A caller reading out a card is the one thing a live transcript must never
hold: Twilio says Real-Time Transcription is not PCI compliant
(https://www.twilio.com/docs/voice/twiml/transcription), so the text is masked
here, in the webhook, before Redis, the feed, the API or a log sees it, and
agents pause transcription for a payment (coach/transcription.py).

Numbers are found by live/spoken_numbers.py whatever their spelling or script (digits of
any width, English words, kanji and kana, groups joined by dashes, colons or filler).
What is judged a card number, and why:

- **length, not Luhn.** A run of 12 or more digits is a card number (cards have 12
  to 19), whatever its check digit: a speech engine that mishears one digit of sixteen
  fails the Luhn check and still writes fifteen of the card's digits, and those are card
  data all the same. A phone number read out with its country code (12 digits) is
  masked too, which is no loss.
- **card talk opens a window** (card, CVV, expiry, PIN, "on the back", "digits"; in
  Japanese カード, クレジット, クレカ, セキュリティコード, 有効期限, 暗証番号, 裏面, 桁…): the line
  itself masks every number of two digits or more, and live/transcript.lua masks the
  call's lines the same way (`harder`) for a minute after.
- **a window per call across lines** (live/transcript.lua): the digits of plain numbers
  (not amounts, times or dates, two digits or more, or one digit that is a line alone: a
  card read a digit a final) that were left in the clear add up
  across lines, speakers and partials while they come within WINDOW_MS of each other; at
  12 the call is judged to be reading a card: the line is masked, every earlier line of
  the window is masked where it is stored and corrected where it was sent, and the card
  window opens. A line that speaks of a card after numbers in the window does the same.
- **a partial never shows more than PARTIAL_CLEAR_DIGITS digits of plain numbers in all**:
  it is the start of a sentence, and its numbers may be the first eleven digits of a card
  whose final is masked. Its final shows what the rules above leave.

False positives, on purpose few outside a card window: an order number (up to 11
digits), a phone number read out (10 or 11 in Japan), amounts ("1500 yen", "¥2,000",
"$15"), times ("15:30", "3 o'clock") and dates ("2024年", "12月3日") stay as said, unless
two plain numbers add up to a card's length within a window, or card talk is near.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from live.spoken_numbers import NUMBER, NUMBER_WORDS, Run, may_hold_numbers, runs, single_digit

CARD = "[card number]"
DIGITS = "[digits]"

CARD_RUN_DIGITS = 12  # a run this long is a card number, whatever else is said
PARTIAL_RUN_DIGITS = 8  # after card talk, a run this long is (part of) a card number
# After card talk, a run this long is a security code, an expiry, a PIN, or a piece of the
# card: two, since a caller reading slowly gives Twilio a final at each pause, and a card
# read in pairs ("42", "42", "11", ...) is a line of two digits at a time.
CODE_DIGITS = 2
WINDOW_RUN_DIGITS = 2  # a plain number this long counts towards the call's window (pairs too)
PARTIAL_CLEAR_DIGITS = 4  # the most digits of plain numbers a partial result shows
WINDOW_MS = 20_000  # numbers this close together are read as parts of one

_CARD_TALK = re.compile(
    r"\b(?:card|credit|debit|visa|mastercard|amex|jcb|cvv|cvc|cv2|code|pin|digits|"
    r"expir\w*|exp\s+date|on\s+the\s+back|long\s+number)\b"
    r"|カード|かーど|クレジット|クレカ|くれか|デビット|セキュリティ|有効期限|暗証番号|裏面|裏側|裏の|桁|"
    r"ビザ|アメックス|名義",
    re.IGNORECASE,
)
# Most lines hold no number and speak of no card: told apart by a search or two (a few
# microseconds), they skip the rest. The English hints are looked for only in a line with
# a letter a-z (whatever its case, as IGNORECASE folds it): every one has one, and looking
# for them at every position of a Japanese line cost it more than the rest of this check.
_CARD_HINT_LATIN = re.compile(
    r"card|credit|debit|visa|master|amex|jcb|cvv|cvc|cv2|code|pin|digit|exp|back|long",
    re.IGNORECASE,
)
_CARD_HINT_JAPANESE = re.compile(
    r"カード|かーど|クレジット|クレカ|くれか|デビット|セキュリティ|有効期限|暗証番号|裏|桁|ビザ|"
    r"アメックス|名義",
    re.IGNORECASE,
)
_LATIN = re.compile("[a-z]", re.IGNORECASE)


# An English line (most are) is told apart by its set of words: a few microseconds.
_LETTERS = re.compile(r"[a-z0-9]+")
_DIGIT = re.compile(r"\d")
_CARD_WORDS = frozenset({"card", "credit", "debit", "visa", "mastercard", "amex", "jcb", "cvv",
                         "cvc", "cv2", "code", "pin", "digits", "expiry", "expire", "expires",
                         "expired", "expiring", "expiration", "exp", "back", "long"})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Judged:
    """What the transcript keeps of one line, worked out once.

    `text` is the line as kept outside a card window; `harder` as kept inside one (and as
    an earlier line is corrected to when the window judges a card); `card_talk` whether
    the line speaks of a card; `window_digits` the digits of its plain numbers the call's
    window adds up (live/transcript.lua); `held` the line as the call's last line and a
    phrase hit show it while its numbers may yet join a card: those numbers `[digits]`,
    not `[card number]` (a phone number read out is no card until the window says so)."""

    text: str
    harder: str
    card_talk: bool
    window_digits: int
    held: str = ""


def speaks_of_card(text: str) -> bool:
    """Whether a line talks about a card: the next few lines are masked harder."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)  # ｶｰﾄﾞ is カード
    if _CARD_HINT_JAPANESE.search(text) is None and (
        _LATIN.search(text) is None or _CARD_HINT_LATIN.search(text) is None
    ):
        return False
    return _CARD_TALK.search(text) is not None


def could_hold_numbers(text: str, words: set[str] | None = None) -> bool:
    """Whether a line has something that may be a number (a digit in any script, a number
    word, kana or kanji numerals)."""
    return may_hold_numbers(text)


def _replace(text: str, found: list[Run], hide: dict[int, str]) -> str:
    if not hide:
        return text
    out, at = [], 0
    for i, run in enumerate(found):
        if i in hide:
            out.append(text[at : run.start])
            out.append(hide[i])
            at = run.end
    out.append(text[at:])
    return "".join(out)


def _hard(run: Run) -> str | None:
    if len(run) >= PARTIAL_RUN_DIGITS:
        return CARD
    if len(run) >= CODE_DIGITS:
        return DIGITS
    return None


# What may stand beside a number in a line that is that number alone: blanks, punctuation,
# and the politeness a Japanese speaker ends it with.
_MARKS = r"\s、。,.!?！？・"
_AROUND_ALONE = re.compile(rf"[{_MARKS}ー-]*(?:です|ですね|で|と|の)?[{_MARKS}]*")
_ONE_READING = re.compile(rf"[{_MARKS}]*(?P<said>[^{_MARKS}]+?)(?:です|ですね)?[{_MARKS}]*")
# The longest line that can be one reading alone ("きゅう。", "ゼロですね。"): a longer one
# (most lines) is not tried, since this runs on every line without a number.
_ONE_READING_CHARS = 10


def _one_reading(text: str) -> Run | None:
    """A line that is one kana reading alone ("よん", "ゴ。"), which the scan leaves as a word:
    a digit read on its own."""
    if len(text) > _ONE_READING_CHARS:
        return None
    m = _ONE_READING.fullmatch(text)
    digit = single_digit(m.group("said")) if m is not None else None
    if m is None or digit is None:
        return None
    return Run(m.start("said"), m.end("said"), digit, NUMBER)


def _only(text: str, run: Run) -> bool:
    """Whether `text` says nothing but `run`."""
    return (
        _AROUND_ALONE.fullmatch(text[: run.start]) is not None
        and _AROUND_ALONE.fullmatch(text[run.end :]) is not None
    )


_KANA_END = re.compile("[ぁ-ゖァ-ヺ]$")


def _counted(run: Run) -> bool:
    """A plain number a partial's limit counts: two digits or more ("一緒に", "one of the two"
    are talk)."""
    return run.kind == NUMBER and len(run) >= WINDOW_RUN_DIGITS


def judge(text: str, final: bool = True) -> Judged:
    """The line masked alone and masked as in a card window (see the module's rules)."""
    if text.isascii():
        words = set(_LETTERS.findall(text.lower()))
        card_talk = not words.isdisjoint(_CARD_WORDS) and _CARD_TALK.search(text) is not None
        if _DIGIT.search(text) is None and words.isdisjoint(NUMBER_WORDS):
            return Judged(text, text, card_talk, 0)
    else:
        card_talk = speaks_of_card(text)
    found = runs(text)
    if not final and (found or may_hold_numbers(text)) and _KANA_END.search(text) is not None:
        # A partial ends where the engine had got to, often inside a reading ("…ぜろさ", a
        # trial's partial that showed 13 digits): its numbers are read as if it ended a
        # reading sooner, and the rest kept as it is. (A line that holds no number holds
        # none cut shorter: most partials, on every callback, skip this.)
        for cut in (1, 2):
            sooner = runs(text[:-cut])
            if sum(map(len, sooner)) > sum(map(len, found)):
                found = sooner
    if not found:
        one = _one_reading(text)
        if one is None:
            return Judged(text, text, card_talk, 0)
        found = [one]
    plain: dict[int, str] = {}
    harder: dict[int, str] = {}
    held: dict[int, str] = {}
    window = 0
    # A line that is one plain number and nothing else ("4", "よん。", "four"): a caller reading
    # a card a digit at a time, slowly enough for Twilio to make a final of each digit. Its
    # one digit counts toward the window and is masked after card talk; a digit inside talk
    # ("一緒に", "one question") does neither.
    alone = len(found) == 1 and found[0].kind == NUMBER and _only(text, found[0])
    # A partial shows at most PARTIAL_CLEAR_DIGITS digits of plain numbers in all: its numbers
    # may be groups of one card that no separator the scan knows joins ("4532ハイフン0151ハ
    # イフン12" showed ten digits in a trial's partial, whose final the window masked).
    partial_hides = not final and (
        sum(len(run) for run in found if _counted(run)) > PARTIAL_CLEAR_DIGITS
    )
    for i, run in enumerate(found):
        hard = _hard(run) or (DIGITS if alone else None)
        if hard is not None:
            harder[i] = hard
        if len(run) >= CARD_RUN_DIGITS or (card_talk and hard is not None):
            plain[i] = CARD if len(run) >= PARTIAL_RUN_DIGITS else DIGITS
        elif partial_hides and _counted(run):
            plain[i] = DIGITS
        if run.kind == NUMBER and (len(run) >= WINDOW_RUN_DIGITS or alone) and not card_talk:
            window += len(run)
            if i not in plain:
                held[i] = DIGITS
    masked = _replace(text, found, plain)
    return Judged(
        masked, _replace(text, found, harder), card_talk, window,
        _replace(text, found, {**plain, **held}),
    )  # fmt: skip


def prepare(text: str, final: bool = True) -> tuple[str, str, bool]:
    """What the transcript keeps of a line: the line masked, the line masked as if a card
    was just spoken of, and whether it speaks of a card itself."""
    judged = judge(text, final)
    return judged.text, judged.harder, judged.card_talk


def mask(text: str, context: bool = False) -> str:
    """The line with card numbers and security codes replaced; everything else as it was."""
    judged = judge(text)
    return judged.harder if context else judged.text


def has_card_number(text: str) -> bool:
    """Whether card-like digits (12 or more in one number, however said) are in `text`
    (the tests' and the bench's check)."""
    return any(len(run) >= CARD_RUN_DIGITS for run in runs(text))
