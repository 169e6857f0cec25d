"""Customers' numbers, as each reader may see them.

The floor renders a conference once, with the number Earpiece read from
Twilio; whoever may not see full numbers (access/policy.py
`sees_full_numbers`: the roster's `[access] full_numbers` roles; nobody by
default) gets a copy with them masked the way core/phone.py masks (the
floor's country's numbers in its national form: `03-••••-5678`). Only
conferences that carry a number are copied. A full reader of the API gets the
number as Twilio gave it (E.164, a stable code); pages write it for people.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from live.board import mask_number

Json = dict[str, Any]


def has_number(conference: Json) -> bool:
    return any(p.get("number") for p in conference.get("participants") or ())


def masked(conference: Json, country: str | None = None) -> Json:
    """`conference` with every participant's number masked (the same object if none has one)."""
    if not has_number(conference):
        return conference
    people = [
        {**p, "number": mask_number(str(p["number"]), True, country)} if p.get("number") else p
        for p in conference.get("participants") or ()
    ]
    return {**conference, "participants": people}


def for_reader(
    conferences: Iterable[Json], full_numbers: bool, country: str | None = None
) -> list[Json]:
    return list(conferences) if full_numbers else [masked(c, country) for c in conferences]
