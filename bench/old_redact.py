"""Today's masking before issue 22 (live/redact.py at 3e32ae7), kept importable for the bench only:
bench/masking.py measures the new masking side by side with it. Never imported by Earpiece."""

from __future__ import annotations

import re

CARD = "[card number]"
DIGITS = "[digits]"

_WORD_DIGITS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_WORDS = "|".join(sorted(_WORD_DIGITS, key=len, reverse=True))
# One digit, or one digit spoken as a word; a run joins them with spaces, dashes or dots.
_ONE = rf"(?:\d|\b(?:{_WORDS})\b)"
_RUN = re.compile(rf"{_ONE}(?:[\s\-.,/]*{_ONE})*", re.IGNORECASE)
_GROUP = re.compile(r"\d{3,}")
_CARD_TALK = re.compile(
    r"\b(?:card|credit|debit|visa|mastercard|amex|cvv|cvc|cv2|code|pin|"
    r"expir\w*|exp\s+date|on\s+the\s+back|long\s+number)\b",
    re.IGNORECASE,
)
CARD_RUN_DIGITS = 12
PARTIAL_RUN_DIGITS = 8


def _digits(run: str) -> int:
    count = sum(ch.isdigit() for ch in run)
    for word in re.findall(r"[a-z]+", run.lower()):
        if word in _WORD_DIGITS:
            count += 1
    return count


def speaks_of_card(text: str) -> bool:
    """Whether a line talks about a card: the next few lines are masked harder."""
    if _words(text).isdisjoint(_CARD_WORDS):
        return False
    return _CARD_TALK.search(text) is not None


# Most lines hold no number and speak of no card: told apart by a digit search and a set
# of words (a few microseconds), they skip the patterns below.
_DIGIT = re.compile(r"\d")
_LETTERS = re.compile(r"[a-z0-9]+")
_CARD_WORDS = frozenset({"card", "credit", "debit", "visa", "mastercard", "amex", "cvv", "cvc",
                         "cv2", "code", "pin", "expiry", "expire", "expires", "expired",
                         "expiration", "exp", "back", "long"})  # fmt: skip


def _words(text: str) -> set[str]:
    return set(_LETTERS.findall(text.lower()))


def could_hold_numbers(text: str, words: set[str] | None = None) -> bool:
    """Whether a line has a digit, or a digit spoken as a word."""
    if _DIGIT.search(text) is not None:
        return True
    return not (words if words is not None else _words(text)).isdisjoint(_WORD_DIGITS)


def prepare(text: str) -> tuple[str, str, bool]:
    """What the transcript keeps of a line, worked out once: the line masked, the line
    masked as if a card was just spoken of, and whether it speaks of a card itself."""
    words = _words(text)
    card = not words.isdisjoint(_CARD_WORDS) and _CARD_TALK.search(text) is not None
    if not could_hold_numbers(text, words):
        return text, text, card
    return mask(text), mask(text, context=True), card


def mask(text: str, context: bool = False) -> str:
    """The line with card numbers and security codes replaced; everything else as it was."""
    if not could_hold_numbers(text):
        return text
    card_talk = context or speaks_of_card(text)

    def run(match: re.Match[str]) -> str:
        found = match.group(0)
        count = _digits(found)
        if count >= CARD_RUN_DIGITS:
            return CARD
        if card_talk and count >= PARTIAL_RUN_DIGITS:
            return CARD
        if card_talk and count >= 3:
            # A spoken run ("one two three") or a group of digits: the security code.
            return DIGITS
        return found

    masked = _RUN.sub(run, text)
    if card_talk:
        masked = _GROUP.sub(DIGITS, masked)
    return masked


def has_card_number(text: str) -> bool:
    """Whether unmasked card-like digits are in `text` (the tests' and the bench's check)."""
    return any(_digits(m.group(0)) >= CARD_RUN_DIGITS for m in _RUN.finditer(text))
