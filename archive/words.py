"""The words search indexes and queries, made the same way for both (issue 23).

SQLite's FTS5 (`unicode61`) and PostgreSQL's `simple` text search both cut text
into words at spaces and punctuation, which Japanese does not have: `解約したいです`
would be one word, and `解約` would find nothing inside it. So the archive does
not hand them the transcript as said, but its words: every transcript and every
query goes through `index_words`, which folds the text (live/japanese.py: NFKC,
so full-width `cancel` is `cancel`; case; katakana as hiragana) and cuts Japanese into
the analyser's shortest units, each by its dictionary form (`解約 し たい です`;
`解約金` is `解約 金`, so `解約` finds it). The stores' own tokenizers then see
words, a search is a phrase of them (in order, side by side), and the index stays
the stores' plain word index, as fast as it was for English.

Chosen over FTS5's `trigram` tokenizer and `pg_trgm`: those cannot find the
two-character words most Japanese words are (`解約`, `契約`) without a scan, and
would need a fallback per store; one analyser gives both stores the same words.

Words alone miss what a speech engine wrote in hiragana: the analyser cuts
`かいやくしたい` as `かう 約する たい` and `べんごし` as `偏 越し`, so neither `解約` nor
`かいやく` found it (a newcomer's trial). So a Japanese line is also indexed by how it
sounds: its readings run together, in katakana pairs (`カイ イヤ ヤク ...`, after the
words; the words are hiragana and kanji, so the two never share a word), and a Japanese
query of three kana or more is also looked for as its own pairs, side by side: `解約`,
`かいやく` and `ｶｲﾔｸ` find each other's calls whatever the analyser made of them. A word
that sounds the same is found too (search favours recall, as it does for compounds).

An archive indexed before this is reindexed by `earpiece archive reindex`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from live.japanese import SHORT, Token, fold, has_japanese, tokens

# The shortest reading a query is also looked for by: two pairs (one pair, "やく", would
# find every call that says any word read so).
MIN_SOUNDS = 3
_TO_KATAKANA = {c: c + 0x60 for c in range(ord("ぁ"), ord("ゖ") + 1)}
# Kana alone, as `fold` leaves it (katakana folded to hiragana; the long vowel mark kept).
_KANA_ONLY = re.compile("[ぁ-ゖー]+")


def _sounded(token: Token) -> bool:
    """A word read in kana (a Japanese word; not one in Latin letters or digits)."""
    return bool(token.reading) and has_japanese(token.reading)


def _sounds(found: Sequence[Token]) -> tuple[list[str], int]:
    """The readings of a line's Japanese words as katakana pairs, each stretch of Japanese
    on its own (a word in Latin letters or digits ends one), and how many kana they hold."""
    pairs: list[str] = []
    kana = 0
    stretch: list[str] = []
    for token in [*found, None]:
        if token is not None and _sounded(token):
            stretch.append(token.reading)
            continue
        said = "".join(stretch).translate(_TO_KATAKANA)
        pairs.extend(said[i : i + 2] for i in range(len(said) - 1))
        kana += len(said)
        stretch = []
    return pairs, kana


def index_words(text: str) -> str:
    """A transcript as the words the search index holds (a Japanese one: its words, then
    its sounds)."""
    if not text:
        return ""
    if not has_japanese(text):
        return fold(text)
    found = tokens(text, SHORT, readings=True)
    pairs, _ = _sounds(found)
    return " ".join([*(t.key for t in found), *pairs])


def query_phrases(text: str) -> list[str]:
    """A query as the phrases to look for, any of which finds a call: its words; and for a
    Japanese query of Japanese alone, three kana or more, its sounds."""
    if not text:
        return []
    if not has_japanese(text):
        return [fold(text)]
    found = tokens(text, SHORT, readings=True)
    phrases = [" ".join(t.key for t in found)]
    folded = fold(text)
    if _KANA_ONLY.fullmatch(folded):
        # A query written in kana sounds as it is written: the analyser's readings of kana
        # it cut wrongly may differ (it reads てすと as で すと, "テス スト トッ", so a QA
        # trial's てすと did not find ﾃｽﾄ, whose sounds are "テス スト").
        said = folded.translate(_TO_KATAKANA)
        pairs, kana = [said[i : i + 2] for i in range(len(said) - 1)], len(said)
    elif all(_sounded(t) for t in found):
        pairs, kana = _sounds(found)
    else:
        return phrases
    if kana >= MIN_SOUNDS:
        phrases.append(" ".join(pairs))
    return phrases


def record_words(doc: Mapping[str, Any]) -> str:
    """An archived call's index words, from its document's final lines (a reindex)."""
    lines = doc.get("transcript") or ()
    return index_words(" ".join(str(line.get("text") or "") for line in lines))
