"""People's names as the floor reads and sorts them.

An agent is an ID (the roster's teams and Twilio's labels use it); the roster may
give a display name and a reading (`[agents.suzuki] name = "鈴木一郎"`,
`reading = "すずきいちろう"`), and TaskRouter gives each Worker a friendly name.
A list of people sorts by reading where there is one (kanji have no order of
their own a machine can know: 鈴木 is read すずき), and by the Unicode Collation
Algorithm otherwise. pyuca implements the UCA with its default table (DUCET) in
pure Python: PyICU, which would add CLDR's per-language tailoring, has no wheel
here and needs ICU's headers to build, and the `locale` module depends on what
locales a machine generated. The reading and the name are folded first
(core/folding.py), so katakana and hiragana readings, and any width, sort as one.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pyuca import Collator

from core.folding import fold, matches


@dataclass(frozen=True)
class Person:
    """An agent as the floor shows them: ID, display name, optional reading."""

    id: str
    name: str | None = None
    reading: str | None = None

    @property
    def shown(self) -> str:
        return self.name or self.id


@functools.cache
def _collator() -> Collator:
    return Collator()  # loads DUCET once (about a second): kept for the process


def sort_key(person: Person) -> tuple[int, ...]:
    return _key(fold(person.reading or person.name or person.id), person.id)


@functools.lru_cache(maxsize=4096)
def _key(folded: str, ident: str) -> tuple[int, ...]:
    # The ID breaks ties (two agents may share a name), after the name's own weights.
    collator = _collator()
    return (*collator.sort_key(folded), 0, *collator.sort_key(ident))


def sorted_people(people: Iterable[Person]) -> list[Person]:
    return sorted(people, key=sort_key)


def person(
    agent: str, names: Mapping[str, Person], workers: Mapping[str, str] | None = None
) -> Person:
    """The roster's name for `agent`, else TaskRouter's friendly name, else the ID."""
    known = names.get(agent)
    if known is not None and known.name:
        return known
    friendly = (workers or {}).get(agent)
    return Person(agent, friendly or None, known.reading if known else None)


def label(agent: str | None, names: Mapping[str, Person]) -> str:
    """`鈴木一郎 (suzuki)` when a name is known, else the ID."""
    if not agent:
        return ""
    known = names.get(agent)
    return f"{known.name} ({agent})" if known is not None and known.name else agent


def search(typed: str, people: Iterable[Person]) -> list[Person]:
    """The people whose ID, name or reading holds what was typed, in any width or kana."""
    return [p for p in people if matches(typed, p.id, p.name, p.reading)]
