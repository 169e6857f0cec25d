"""Phrase alerts: which of a team's phrases a transcript line says.

A phrase in the roster (`[teams.NAME] phrases = [...]`) matches whole words,
whatever the case, punctuation and spacing ("Cancel my account!" says
"cancel my account"); a phrase written `re:...` is a regular expression,
matched the same way against the line's lower-cased words. The roster is
checked at load, so a bad pattern stops the start with one line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

PATTERN_PREFIX = "re:"
MAX_PHRASE_CHARS = 200
_NOT_WORD = re.compile(r"[^\w']+")


def words(text: str) -> str:
    """Lower-cased words, one space apart, with a space at each end (whole-word matching)."""
    return " " + " ".join(_NOT_WORD.sub(" ", text.lower()).split()) + " "


class BadPhrase(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Phrase:
    text: str  # as the roster writes it: what the alert names
    needle: str | None  # the words to find, " a b " (plain phrases)
    pattern: re.Pattern[str] | None  # re: phrases

    @classmethod
    def of(cls, raw: str) -> Phrase:
        if not raw.strip() or len(raw) > MAX_PHRASE_CHARS:
            raise BadPhrase(f"a phrase must have 1 to {MAX_PHRASE_CHARS} characters: {raw[:40]!r}")
        if raw.startswith(PATTERN_PREFIX):
            try:
                return cls(raw, None, re.compile(raw[len(PATTERN_PREFIX) :], re.IGNORECASE))
            except re.error as exc:
                raise BadPhrase(f"{raw[:60]!r} is not a regular expression: {exc}") from None
        needle = words(raw)
        if needle.strip() == "":
            raise BadPhrase(f"{raw[:40]!r} has no words to match")
        return cls(raw, needle, None)

    def said(self, said_words: str) -> bool:
        if self.pattern is not None:
            return self.pattern.search(said_words) is not None
        return self.needle is not None and self.needle in said_words


def compile_all(raw: Iterable[str]) -> tuple[Phrase, ...]:
    return tuple(Phrase.of(r) for r in raw)


def matches(phrases: Iterable[Phrase], text: str) -> list[str]:
    """The phrases (as the roster writes them) that `text` says, in roster order."""
    said = words(text)
    return [p.text for p in phrases if p.said(said)]
