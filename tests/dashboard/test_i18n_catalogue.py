"""Issue 25: every word of the dashboard from the gettext catalogues. Babel's extraction over
dashboard/ (every `_`, `ngettext`, `N_`) against each language's .po: a message without a
Japanese translation fails here, as does a placeholder a translation lost or invented, a
component label (`t("…")` in a component's JavaScript) that is not in the words the page
sends, and a catalogue that is stale (the .po kept in step with the code)."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

from dashboard import catalogue, component_words, i18n
from dashboard.catalogue import Message

DASHBOARD = Path(catalogue.__file__).parent
COMPONENTS = sorted(DASHBOARD.glob("*_component/*.js"))


def names(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def singular(message: Message) -> str:
    return message[0] if isinstance(message, tuple) else message


@pytest.fixture(scope="module")
def messages() -> dict[Message, list[tuple[str, int]]]:
    found = catalogue.extract()
    assert len(found) > 300, "the extraction found too few of the dashboard's words"
    return found


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_each_catalogue_parses_and_holds_every_message_of_the_code(
    language: str, messages: dict[Message, list[tuple[str, int]]]
) -> None:
    catalog = catalogue.read(language)
    assert isinstance(catalog, Catalog)
    held = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    wanted = {singular(m) for m in messages}
    assert wanted - held == set(), f"run `python -m dashboard.catalogue`: {wanted - held}"
    assert held - wanted == set(), f"stale messages in the {language} catalogue"


def test_every_message_has_a_japanese_translation() -> None:
    missing = list(catalogue.missing("ja"))
    assert missing == [], f"untranslated in ja/LC_MESSAGES/earpiece.po: {missing}"


def test_a_missing_translation_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself fails on a gap: one Japanese msgstr emptied is reported."""
    catalog = catalogue.read("ja")
    catalog["Floor"].string = ""
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    catalogue.write(catalog, "ja")
    assert list(catalogue.missing("ja")) == ["Floor"]


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_translations_keep_the_placeholders_of_their_message(language: str) -> None:
    wrong = []
    for m in catalogue.read(language):
        if not m.id:
            continue
        # babel types a plural's ids and strings as a tuple or a list.
        ids = tuple(m.id) if isinstance(m.id, (tuple, list)) else (m.id,)
        strings = tuple(m.string) if isinstance(m.string, (tuple, list)) else (m.string,)
        for said in strings:
            if said and names(said) != names(ids[-1]):
                wrong.append((ids[0], said))
    assert wrong == []


def test_japanese_reads_in_japanese_and_english_counts_in_plurals() -> None:
    ja, en = i18n.translations("ja"), i18n.translations("en")
    assert ja.gettext("Floor") == "フロア"
    assert ja.gettext("Listen") == "モニター"
    one, other = "{n} agent asks for help", "{n} agents ask for help"
    assert en.ngettext(one, other, 1).format(n=1) == "1 agent asks for help"
    assert en.ngettext(one, other, 2).format(n=2) == "2 agents ask for help"
    assert ja.ngettext(one, other, 1) == ja.ngettext(one, other, 7)  # one form in Japanese
    assert "エージェント" in ja.ngettext(one, other, 3)


def test_no_english_left_in_a_japanese_string() -> None:
    """A msgstr that copies its English msgid is no translation (names and codes excepted)."""
    same = [m.id for m in catalogue.read("ja")
            if m.id and isinstance(m.id, str) and m.string == m.id]  # fmt: skip
    assert set(same) <= {"qa", "SID", "."}, same


def test_every_label_a_component_writes_is_in_the_words_the_page_sends() -> None:
    sent = set(component_words.BOARD) | set(component_words.LISTEN)
    sent |= set(component_words.TRANSCRIPT) | {one for one, _ in component_words.PLURALS}
    asked: dict[str, set[str]] = {}
    for script in COMPONENTS:
        text = script.read_text(encoding="utf-8")
        labels = set(re.findall(r'(?<![\w.])tn?\(\s*"((?:[^"\\]|\\.)*)"', text))
        labels |= set(re.findall(r'\[\s*"[a-z_]+",\s*"([^"]+)"\s*\]', text))  # COLUMNS, TILES…
        asked[script.name] = labels - sent
    assert asked == {s.name: set() for s in COMPONENTS}


def test_the_browser_picks_a_language_earpiece_has() -> None:
    assert i18n.from_browser("ja-JP,ja;q=0.9,en-US;q=0.8") == "ja"
    assert i18n.from_browser("fr-FR,en;q=0.5,ja;q=0.9") == "ja"
    assert i18n.from_browser("fr-FR") is None
    assert i18n.from_browser("ja;q=0") is None
    assert i18n.choose("en", "ja-JP", "ja") == "en"  # the roster first
    assert i18n.choose(None, "ja-JP", "en") == "ja"  # then the browser
    assert i18n.choose(None, "de-DE", "ja") == "ja"  # then EARPIECE_LANGUAGE
    assert i18n.choose(None, None, "xx") == "en"


def test_the_why_templates_are_live_attentions_own() -> None:
    """The board reads the stream's English reasons back against these templates: the two
    must be one text, or a reason would reach a Japanese board in English."""
    from live.attention import REASONS

    assert dict(REASONS) == component_words.REASON_WORDS
