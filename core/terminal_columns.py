"""Text padded to a terminal's columns, not to its count of characters.

A name in Japanese takes two columns a character in a terminal (East Asian Wide), so
`f"{name:<14}"` left 佐々木 春香's link four columns right of the others' in
`earpiece demo`'s banner. wcwidth (the widths of the Unicode Character Database, kept
up with each Unicode release) measures what the terminal draws; hand-counting
`unicodedata.east_asian_width` misses combining marks and zero-width joiners.
"""

from __future__ import annotations

from wcwidth import wcswidth


def columns(text: str) -> int:
    """How many columns `text` takes in a terminal (a control character counts as one:
    wcwidth says -1 for the string then, and the text is someone's, shown as text)."""
    width = wcswidth(text)
    return width if width >= 0 else len(text)


def pad(text: str, width: int) -> str:
    """`text`, then spaces up to `width` columns (none if it is already that wide)."""
    return text + " " * max(0, width - columns(text))
