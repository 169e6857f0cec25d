"""A terminal's columns: Japanese names line up with English ones in a listing."""

from __future__ import annotations

from core.terminal_columns import columns, pad


def test_a_japanese_name_takes_two_columns_a_character() -> None:
    assert columns("Ana Ito") == 7
    assert columns("佐々木 春香") == 11  # five wide characters and a space
    assert columns("ｻｻｷ") == 3  # half-width katakana: one column each


def test_padded_names_end_in_the_same_column() -> None:
    names = ["Ana Ito", "佐々木 春香", "Ken Sato"]
    assert {columns(pad(name, 14)) for name in names} == {14}
    assert pad("佐々木 春香", 14).endswith(" " * 3)


def test_a_name_wider_than_its_column_is_kept_whole() -> None:
    assert pad("長谷川 佐々木 春香", 8) == "長谷川 佐々木 春香"


def test_a_control_character_is_counted_not_fatal() -> None:
    assert columns("a\x1bb") == 3
    assert pad("a\x1bb", 5) == "a\x1bb  "
