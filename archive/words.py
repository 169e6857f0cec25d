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

An archive indexed before this is reindexed by `earpiece archive reindex`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from live.japanese import fold, has_japanese
from live.japanese import index_words as japanese_words


def index_words(text: str) -> str:
    """A transcript (or a query) as the words the search index holds."""
    if not text:
        return ""
    if has_japanese(text):
        return japanese_words(text)
    return fold(text)


def record_words(doc: Mapping[str, Any]) -> str:
    """An archived call's index words, from its document's final lines (a reindex)."""
    lines = doc.get("transcript") or ()
    return index_words(" ".join(str(line.get("text") or "") for line in lines))
