"""live/privacy.py in-process: a customer's number as each reader may see it: whole for a
full reader, masked in the floor's own form for everyone else (a Japanese floor's 03 and
0120 numbers as Japanese people write them), the stored document never changed."""

from __future__ import annotations

import copy
from typing import Any

from live.privacy import for_reader, has_number, masked


def call(number: str | None) -> dict[str, Any]:
    customer: dict[str, Any] = {"role": "customer", "call_sid": "CA1"}
    if number:
        customer["number"] = number
    return {"sid": "CF1", "participants": [customer, {"role": "agent", "call_sid": "CA2"}]}


def numbers(conference: dict[str, Any]) -> list[str | None]:
    return [p.get("number") for p in conference["participants"]]


def test_a_japanese_floor_masks_its_own_numbers_in_their_national_form() -> None:
    assert numbers(masked(call("+81312345678"), "JP")) == ["03-••••-5678", None]
    assert numbers(masked(call("+81120123456"), "JP")) == ["0120-•••-456", None]
    # A caller from abroad, and a floor with no country: international, still masked.
    assert numbers(masked(call("+14155550123"), "JP")) == ["+1 415-••••-0123", None]
    assert numbers(masked(call("+81312345678"), None)) == ["+81 3-••••-5678", None]


def test_masking_copies_and_leaves_a_call_without_a_number_alone() -> None:
    stored = call("+81312345678")
    before = copy.deepcopy(stored)
    assert masked(stored, "JP") is not stored
    assert stored == before  # the floor's rendered document is shared by every reader
    bare = call(None)
    assert not has_number(bare) and masked(bare, "JP") is bare


def test_each_reader_gets_what_they_may_see() -> None:
    floor = [call("+81312345678"), call(None)]
    assert [numbers(c)[0] for c in for_reader(floor, True, "JP")] == ["+81312345678", None]
    assert [numbers(c)[0] for c in for_reader(floor, False, "JP")] == ["03-••••-5678", None]
    assert all("5678" not in str(c) or "••••" in str(c) for c in for_reader(floor, False, "JP"))
