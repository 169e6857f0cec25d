"""The dashboard's message catalogues kept whole: every `_()`, `ngettext()` and `N_()` of
the dashboard's code (Babel's extraction), written into each language's `.po` with the
translations it already has (`python -m dashboard.catalogue`, after adding words).

tests/dashboard/test_i18n_catalogue.py uses `extract` to fail on a word missing from a catalogue.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

from dashboard.i18n import DOMAIN, LANGUAGES, catalogue_path

ROOT = Path(__file__).parent
Message = str | tuple[str, str]  # a msgid, or a (singular, plural) pair


def extract(root: Path = ROOT) -> dict[Message, list[tuple[str, int]]]:
    """Every message of the Python under `root`, with where it is used."""
    found: dict[Message, list[tuple[str, int]]] = {}
    for filename, line, message, _comments, _context in extract_from_dir(
        str(root), method_map=[("**.py", "python")], keywords=DEFAULT_KEYWORDS
    ):
        key: Message = message if isinstance(message, str) else (message[0], message[1])
        found.setdefault(key, []).append((filename, line))
    return found


def read(language: str) -> Catalog:
    with catalogue_path(language).open("rb") as po:
        return read_po(po, locale=language, domain=DOMAIN)


def update(language: str, messages: dict[Message, list[tuple[str, int]]]) -> Catalog:
    """`language`'s catalogue with exactly `messages`, keeping the translations it has."""
    path = catalogue_path(language)
    old = read(language) if path.is_file() else Catalog(locale=language, domain=DOMAIN)
    new = Catalog(locale=language, domain=DOMAIN, project="Earpiece", version="1", charset="utf-8")
    for message, where in sorted(messages.items(), key=lambda m: str(m[0])):
        known = old.get(message[0] if isinstance(message, tuple) else message)
        new.add(message, known.string if known else None, locations=sorted(where))
    return new


def write(catalog: Catalog, language: str) -> None:
    path = catalogue_path(language)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as po:
        # No header: its dates would change on every run; Babel gives each language its
        # Plural-Forms from CLDR (Japanese: one form) when the catalogue is read.
        write_po(po, catalog, width=100, sort_output=True, include_lineno=False, omit_header=True)


def missing(language: str) -> Iterator[Message]:
    """Messages of the code that `language`'s catalogue does not translate."""
    catalog = read(language)
    for message in extract():
        entry = catalog.get(message[0] if isinstance(message, tuple) else message)
        strings = entry.string if entry else None
        if isinstance(strings, tuple | list):
            if not all(strings):
                yield message
        elif not strings:
            yield message


def main() -> None:
    messages = extract()
    for language in LANGUAGES:
        write(update(language, messages), language)
        print(f"{catalogue_path(language)}: {len(messages)} messages")


if __name__ == "__main__":
    main()
