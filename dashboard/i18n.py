"""The dashboard's words in the reader's language (issue 25): gettext catalogues, one per
language, chosen per reader.

Which language: the supervisor's roster `language`, else the first of the browser's
(Accept-Language) that Earpiece has words for, else EARPIECE_LANGUAGE (default "en"). The
same choice formats the reader's times (dashboard/reading.py), so words and clock agree.

The catalogues are `locale/<lang>/LC_MESSAGES/earpiece.po`, in the package (pyproject's
package-data ships `*.po`). They are compiled in memory when first used, with Babel's
`read_po`/`write_mo`, into the standard library's `gettext.GNUTranslations`: no binary
`.mo` in the repository and no build step, and a fresh `pip install -e .` has them. Babel
(the Pallets project's, already here for CLDR times) reads PO files with their plural-forms
header, so `ngettext` picks "1 agent asks" / "2 agents ask" by each language's own rule
(Japanese has one form). A new language is one more folder and one more code in LANGUAGES.

Markers the extraction (tests/dashboard/test_i18n_catalogue.py, Babel's `extract`) looks for:
`_("…")` and `ngettext("…", "…", n)` translate now; `N_("…")` only marks a word that is
translated later (a table of labels, the words sent to a browser component). Placeholders
are `str.format` names (`{agent}`), filled after translating, so a translation may put
them in its own order.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

import streamlit as st
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DOMAIN = "earpiece"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "ja")  # live/roster.py SUPERVISOR_LANGUAGES and settings.LANGUAGES
LANGUAGE_KEY = "earpiece_language"  # the reader's language, in the session's state
# A language fixed for one call (`bound`): Streamlit calls a widget's format_func later,
# outside this session's run (AppTest even from its own thread), where the session's state
# may not be this one's.
_FIXED: ContextVar[str | None] = ContextVar("earpiece_language", default=None)


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of `language` (English, the msgids, when it has none)."""
    path = catalogue_path(language)
    if language not in LANGUAGES or not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def from_browser(accept_language: str | None) -> str | None:
    """The first language of an Accept-Language header (by its q-values) that Earpiece has
    words for: `ja-JP,ja;q=0.9,en;q=0.8` is "ja". None when it names none of them."""
    wanted: list[tuple[float, int, str]] = []
    for n, part in enumerate((accept_language or "")[:1000].split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _eq, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().split("-")[0].lower()
        if primary in LANGUAGES and quality > 0:
            wanted.append((-quality, n, primary))
    return min(wanted)[2] if wanted else None


def choose(roster: str | None, accept_language: str | None, setting: str) -> str:
    """The reader's language: the roster's, else the browser's, else the setting."""
    if roster in LANGUAGES:
        return roster
    return from_browser(accept_language) or (setting if setting in LANGUAGES else "en")


def use(language: str) -> None:
    """Set this session's language (app.py, on every full run)."""
    st.session_state[LANGUAGE_KEY] = language if language in LANGUAGES else "en"


def language() -> str:
    """This session's language; English before anyone signed in and outside Streamlit."""
    fixed = _FIXED.get()
    if fixed is not None:
        return fixed
    try:
        chosen = st.session_state.get(LANGUAGE_KEY)
    except Exception:  # no script run (a unit test, a thread of our own): no session
        return "en"
    return chosen if isinstance(chosen, str) and chosen in LANGUAGES else "en"


def _(message: str) -> str:
    return translations(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(language()).ngettext(singular, plural, n)


def bound(say: Callable[[Any], str]) -> Callable[[Any], str]:
    """`say` (a widget's format_func) in the language of now, whenever it is called."""
    chosen = language()

    def said(value: Any) -> str:
        token = _FIXED.set(chosen)
        try:
            return say(value)
        finally:
            _FIXED.reset(token)

    return said


def N_(message: str) -> str:
    """Marks `message` for the catalogue; translated where it is shown (with `_`)."""
    return message


def words(messages: tuple[str, ...]) -> dict[str, str]:
    """Each of `messages` in this session's language, keyed by its English: what a browser
    component needs to write its own labels (it looks each up, falling back to the key)."""
    return {m: _(m) for m in messages}
