"""Folding typed text for matching: what a person types matches however it was written.

Japanese is typed in several widths and scripts for one word: `ｽｽﾞｷ` (half-width
katakana), `スズキ`, `すずき`, SUZUKI in full-width Latin letters (U+FF21 on). NFKC (the standard
library's unicodedata) makes widths one; katakana then folds to hiragana (the
blocks are parallel, U+30A1-U+30F6 to U+3041-U+3096), and casefold makes Latin
one case. A tiny module of its own: w8's Japanese search may bring a fuller one,
and the lead will unify them.
"""

from __future__ import annotations

import unicodedata

_KATAKANA_TO_HIRAGANA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}


def fold(text: str) -> str:
    """`ｽｽﾞｷ`, `スズキ`, `すずき` -> `すずき`; full-width or upper-case SUZUKI -> `suzuki`."""
    return unicodedata.normalize("NFKC", text).translate(_KATAKANA_TO_HIRAGANA).casefold()


def matches(typed: str, *texts: str | None) -> bool:
    """Whether what was typed is in any of `texts`, folded alike (empty matches all)."""
    wanted = fold(typed).strip()
    return not wanted or any(wanted in fold(t) for t in texts if t)
