"""Phrase alerts: which of a team's phrases a transcript line says.

Text and phrases go through one normalisation (live/japanese.py's `fold`: Unicode
NFKC, so full- and half-width forms are one; case folded; katakana as hiragana),
and then how a phrase matches depends on its script:

- A phrase without Japanese characters matches whole words, whatever the case,
  width, punctuation and spacing ("Cancel my account!", and "CANCEL my account" in
  full-width letters, say "cancel my account"): words are runs of letters between spaces.
- A phrase with Japanese characters matches whole words of a morphological
  analysis (SudachiPy, its longest units; live/japanese.py says why): the line
  and the phrase are cut into words, each word compared by its dictionary form,
  and the phrase must be a run of the line's words. So `解約` fires on
  `解約したいです` (解約 / し / たい / です) and on `カイヤクしたい` (normal form
  解約), `責任者` on `責任者を出してください`, `クレーム` on `ｸﾚｰﾑです`, but
  `クレーム` not on `クレームブリュレ` (one word) and `解約` not on `解約金`
  (another word: a team that wants it names it). A line spelled in kana alone
  (`かいやくしたい`), which the analyser may cut badly, also matches by reading:
  the phrase's reading (`かいやく`) must start where a kana word starts and end
  where one ends, or inside a hiragana word (the analyser's bad cut), so
  `かいやく` fires on `かいやくしたい` and not on `ちかいやくそく` (近い約束).
- A phrase written `re:...` is a regular expression, matched against the line's
  folded words (the old way, kept for what the above cannot say); its own
  non-ASCII letters are folded the same way, its syntax is left alone.

A team excludes a false hit with `not_phrases`: where the line says one of them,
no phrase raises on the words it covers (`not_phrases = ["クレームブリュレ"]`
should the dictionary ever cut it).

The analyser is the costly step (about 0.2 ms a line), so it runs only on a line that
could hold a phrase: each Japanese phrase keeps `hints`, what its first word must show
in the folded line whatever its inflection (the run of kanji and katakana it starts
with: `解約` of 解約, `怒` of 怒る, `くれーむ` of クレーム) and its reading (for lines in
kana alone); a line showing none of any phrase's hints is not analysed. A phrase that
starts in hiragana has no written stem and always asks for the analysis. What this
gives up: a line that writes a phrase's word in a variant only the analyser's
normalisation equates (附属 for 付属) and not in kana; speech engines write the
standard form.

The roster is checked at load, so a bad phrase stops the start with one line.
Tested on a Japanese corpus (tests/live/test_phrases_japanese.py) through the webhook.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from live.japanese import LONG, Token, fold, has_japanese, tokens

PATTERN_PREFIX = "re:"
MAX_PHRASE_CHARS = 200
_NOT_WORD = re.compile(r"[^\w']+")
# The kanji and katakana a Japanese phrase starts with: inflection changes what follows.
_STEM = re.compile(r"[\u30a0-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆ヶ]+")
# A reading shorter than this is too common a sound to raise anything on.
MIN_READING_CHARS = 2


def words(text: str) -> str:
    """Folded words, one space apart, with a space at each end (whole-word matching)."""
    return " " + " ".join(_NOT_WORD.sub(" ", fold(text)).split()) + " "


def _fold_pattern(pattern: str) -> str:
    """A `re:` pattern's own letters folded as the line's are (`クレーム` finds `ｸﾚｰﾑ`),
    its ASCII (the pattern's syntax) untouched; a letter that folds to punctuation is
    matched literally."""
    out = []
    for ch in pattern:
        if ord(ch) < 128:
            out.append(ch)
            continue
        folded = fold(ch)
        out.append(folded if folded.isalnum() else re.escape(folded))
    return "".join(out)


class BadPhrase(ValueError):
    pass


Span = tuple[int, int]  # [start, end) in a line's Japanese words


@dataclass(frozen=True, slots=True)
class Phrase:
    text: str  # as the roster writes it: what the alert names
    needle: str | None  # the words to find, " a b " (phrases in spaced scripts)
    pattern: re.Pattern[str] | None  # re: phrases
    keys: tuple[str, ...] | None = None  # Japanese phrases: their words' dictionary forms
    reading: str = ""  # ... and how they are read, in hiragana
    # ... and what a folded line must show for the phrase to be in it (see the module);
    # None: no written stem, the line is always analysed.
    hints: tuple[str, ...] | None = None

    @classmethod
    def of(cls, raw: str) -> Phrase:
        if not raw.strip() or len(raw) > MAX_PHRASE_CHARS:
            raise BadPhrase(f"a phrase must have 1 to {MAX_PHRASE_CHARS} characters: {raw[:40]!r}")
        if raw.startswith(PATTERN_PREFIX):
            try:
                pattern = _fold_pattern(raw[len(PATTERN_PREFIX) :])
                return cls(raw, None, re.compile(pattern, re.IGNORECASE))
            except re.error as exc:
                raise BadPhrase(f"{raw[:60]!r} is not a regular expression: {exc}") from None
        if has_japanese(fold(raw)):
            said = tokens(raw, LONG, readings=True)
            if not said:
                raise BadPhrase(f"{raw[:40]!r} has no words to match")
            reading = "".join(t.reading for t in said)
            stem = _STEM.match(unicodedata.normalize("NFKC", raw).strip())
            hints = (
                tuple(h for h in (fold(stem.group()), reading) if h) if stem is not None else None
            )
            return cls(raw, None, None, tuple(t.key for t in said), reading, hints)
        needle = words(raw)
        if needle.strip() == "":
            raise BadPhrase(f"{raw[:40]!r} has no words to match")
        return cls(raw, needle, None)

    @property
    def japanese(self) -> bool:
        return self.keys is not None

    def may_be_in(self, folded_line: str) -> bool:
        """False when the folded line cannot hold this Japanese phrase (no analysis needed)."""
        return self.hints is None or any(h in folded_line for h in self.hints)

    def said(self, said_words: str) -> bool:
        """Spaced scripts and patterns, on `words(line)`."""
        if self.pattern is not None:
            return self.pattern.search(said_words) is not None
        return self.needle is not None and self.needle in said_words

    def spans(self, line: list[Token] | Said) -> list[Span]:
        """Where a Japanese phrase is said in a line's words (live/japanese.py's `tokens`)."""
        said = line if isinstance(line, Said) else Said(line)
        keys = self.keys or ()
        n = len(keys)
        out: list[Span] = []
        if n:
            # Only where the line has the phrase's first word (most lines: nowhere).
            first, line_keys = keys[0], said.keys
            for i in said.where.get(first, ()):
                if line_keys[i : i + n] == keys:
                    out.append((i, i + n))
        # A reading is heard only inside a run of kana words: a line whose runs do not
        # hold it (most lines) skips the walk below, which would find nothing.
        if len(self.reading) < MIN_READING_CHARS or self.reading not in said.kana_runs:
            return out
        words = said.tokens
        for i, start in enumerate(words):
            if not start.kana:
                continue
            heard, j = "", i
            while j < len(words) and words[j].kana and len(heard) < len(self.reading):
                heard += words[j].reading
                j += 1
            if heard == self.reading or (heard.startswith(self.reading) and words[j - 1].hiragana):
                out.append((i, j))
        return out


class Said:
    """A line's Japanese words, and what `Phrase.spans` looks up in them, worked out once
    per line for all of a team's phrases."""

    __slots__ = ("kana_runs", "keys", "tokens", "where")

    def __init__(self, words: list[Token]) -> None:
        self.tokens = words
        self.keys = tuple(t.key for t in words)
        self.where: dict[str, list[int]] = {}
        for i, key in enumerate(self.keys):
            self.where.setdefault(key, []).append(i)
        # The readings of each run of kana words, runs apart ("\x00" is in no reading).
        self.kana_runs = "".join(t.reading if t.kana else "\x00" for t in words)


def compile_all(raw: Iterable[str]) -> tuple[Phrase, ...]:
    return tuple(Phrase.of(r) for r in raw)


def _overlaps(span: Span, others: list[Span]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in others)


@dataclass(frozen=True, slots=True)
class Matcher:
    """A team's phrases and the words that keep them from raising (`not_phrases`)."""

    phrases: tuple[Phrase, ...]
    excluded: tuple[Phrase, ...] = ()

    @classmethod
    def of(cls, phrases: Iterable[str], not_phrases: Iterable[str] = ()) -> Matcher:
        return cls(compile_all(phrases), compile_all(not_phrases))

    @property
    def needs_japanese(self) -> bool:
        return any(p.japanese for p in self.phrases)

    def matches(
        self, text: str, analyses: bool | None = None, analysed: list[Token] | None = None
    ) -> list[str]:
        """The phrases (as the roster writes them) that `text` says, in roster order.
        `analyses`: `self.analyses(text)` when the caller has asked it already (once a line);
        `analysed`: the line's words, `tokens(text, LONG)`, when they were worked out
        elsewhere (live/analyser.py)."""
        said: str | None = None
        line: Said | None = None
        blocked: list[Span] = []
        hits: list[str] = []
        for phrase in self.phrases:
            if phrase.japanese:
                if line is None:
                    if analysed is not None:
                        line = Said(analysed)
                    else:
                        line = self._analysed(text, analyses)
                    if line is not None:
                        blocked = [s for x in self.excluded if x.japanese for s in x.spans(line)]
                if line is not None and any(not _overlaps(s, blocked) for s in phrase.spans(line)):
                    hits.append(phrase.text)
                continue
            if said is None:
                said = words(text)
                for x in self.excluded:
                    if x.needle is not None:
                        said = said.replace(x.needle, " \x00 ")
            if phrase.said(said):
                hits.append(phrase.text)
        return hits

    def analyses(self, text: str) -> bool:
        """Whether `matches(text)` runs the analyser: a Japanese line that shows a hint of one
        of the team's Japanese phrases (see the module)."""
        if not has_japanese(text):
            return False
        folded = fold(text)
        return any(p.may_be_in(folded) for p in self.phrases if p.japanese)

    def _analysed(self, text: str, analyses: bool | None = None) -> Said | None:
        """The line's words, or None where no Japanese phrase can be in it (not analysed)."""
        run = self.analyses(text) if analyses is None else analyses
        return Said(tokens(text, LONG)) if run else None


def matches(phrases: Iterable[Phrase], text: str) -> list[str]:
    """The phrases (as the roster writes them) that `text` says, in roster order."""
    return Matcher(tuple(phrases)).matches(text)
