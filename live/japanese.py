"""Japanese words: one normalisation and one analyser for phrase alerts and search (issue 23).

Japanese is written without spaces, in three scripts at once, and in two widths:
`解約したいです` is one run of characters, `クレーム` is also written `ｸﾚｰﾑ`, and
`キャンセル` may come back from the transcription engine as `きゃんせる`. So:

- `fold` is the one normalisation every comparison goes through: Unicode NFKC
  (full- and half-width letters, digits and kana to their usual forms), then
  case folding, then katakana to hiragana (so that the two kana spellings of a
  word are one).
- `tokens` cuts a line into words with a morphological analyser and a packaged
  dictionary, and gives each word its dictionary form, folded (`出し` -> `出す`,
  `カイヤク` -> `解約`, `ｸﾚｰﾑ` -> `くれーむ`) and its reading, folded (`かいやく`).

Why SudachiPy with sudachidict_core: both are on PyPI as wheels (the dictionary
is a package, nothing is downloaded at run time), it is maintained (Works
Applications), it cuts a line in about 40 µs here, and it has split modes: mode C
keeps the longest dictionary units (`クレームブリュレ`, `解約金`, `責任者` stay one
word), which is what a phrase alert must not fire inside, and mode A cuts to the
shortest units (`解約` / `金`), which is what a search should find inside. Its
normalised form also joins spelling variants (`カイヤク` and `解約`). fugashi +
unidic-lite was the alternative: a MeCab binding with no split modes and no
normalised form across scripts.

The analyser is created lazily, once per thread (a Sudachi tokenizer keeps state
while it works and the archive's stores run in worker threads).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from typing import Any, NamedTuple

from sudachipy import Dictionary, SplitMode

# Hiragana, katakana (with the long vowel mark), CJK ideographs, the iteration marks,
# half-width katakana: a character of Japanese writing.
_JAPANESE = re.compile(
    r"[\u3040-\u30ff\u3005\u3006\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]"
)
_KANA_ONLY = re.compile(r"[\u3040-\u30ff]+")
_HIRAGANA_ONLY = re.compile(r"[\u3040-\u309f\u30fc]+")
# Katakana ァ..ヶ is hiragana ぁ..ゖ 0x60 code points below.
_TO_HIRAGANA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}
# Parts of speech that are not words: blanks and symbols (punctuation, brackets).
_NOT_WORDS = frozenset({"空白", "補助記号"})

SHORT = "A"  # Sudachi's split mode A, the shortest units: what search indexes
LONG = "C"  # mode C, the longest units: what a phrase alert matches whole
_MODES = {"A": SplitMode.A, "C": SplitMode.C}


def has_japanese(text: str) -> bool:
    return _JAPANESE.search(text) is not None


def fold(text: str) -> str:
    """NFKC, case-folded, katakana as hiragana: two spellings of one word compare equal."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_TO_HIRAGANA)


class Token(NamedTuple):
    key: str  # its dictionary form, folded (what two spellings of a word share)
    reading: str  # how it is read, in hiragana
    kana: bool  # written in kana alone (so its reading is how it was written)
    hiragana: bool  # written in hiragana alone (where an analyser may cut a word wrongly)


# A dictionary form or reading folded once: they come from the dictionary's finite words,
# and a line's dozen words would each be normalised again on every line.
_fold_word = lru_cache(maxsize=1 << 16)(fold)

_local = threading.local()


def _dictionary() -> Any:
    dictionary = getattr(_local, "dictionary", None)
    if dictionary is None:
        dictionary = _local.dictionary = Dictionary(dict="core")
        # Blanks and symbols, by part of speech id (no tuple of strings made per word).
        _local.not_words = dictionary.pos_matcher(lambda pos: pos[0] in _NOT_WORDS)
    return dictionary


def _tokenizer(mode: str) -> Any:
    cached: dict[Any, Any] | None = getattr(_local, "tokenizers", None)
    if cached is None:
        cached = _local.tokenizers = {}
    found = cached.get(mode)
    if found is None:
        found = cached[mode] = _dictionary().tokenizer(mode=_MODES[mode])
    return found


def tokens(text: str, mode: str = LONG, readings: bool = False) -> list[Token]:
    """The words of `text` in order, without blanks and punctuation; each word's reading
    where it is written in kana (where a line's reading matters), or everywhere."""
    out: list[Token] = []
    normal = unicodedata.normalize("NFKC", text)
    tokenizer = _tokenizer(mode)
    not_words = _local.not_words
    for m in tokenizer.tokenize(normal):
        surface = m.surface()
        kana = _KANA_ONLY.fullmatch(surface) is not None
        # (a lone long vowel mark ー is kana, cut off a word the analyser did not know)
        if not surface.strip() or (not kana and not_words(m)):
            continue
        if not has_japanese(surface):
            # A word in Latin letters keeps its own spelling (Sudachi's normal form of
            # `cancel` is キャンセル: an English search must still find the English word).
            key = fold(surface)
            out.append(Token(key, key, False, False))
            continue
        # Its reading matters only where it was written in kana (live/phrases.py).
        reading = _fold_word(m.reading_form()) if kana or readings else ""
        out.append(
            Token(
                _fold_word(m.normalized_form()),
                reading,
                kana,
                kana and _HIRAGANA_ONLY.fullmatch(surface) is not None,
            )
        )
    return out
