"""Customers' numbers as people on the floor read them, whole or masked.

`phonenumbers` (Google's libphonenumber metadata) knows each country's groups:
`+81312345678` is `03-1234-5678` to a Japanese floor and `+81 3-1234-5678` to
any other, and a 0120 number reads `0120-123-456`. A number of the floor's own
country (EARPIECE_COUNTRY) is written the national way, any other the
international way.

Masking keeps what tells two callers apart on a floor and is useless to dial:
the country (international form), the area or service prefix (the first group:
`03`, `0120`, `090`, `(555)`) and the last group; every digit between becomes
ONE group of dots as long as the last group, whatever their number and however
many groups they were. So `03-••••-5678`, `0120-•••-456`, `090-••••-5678`,
`+1 555-••••-4567`: the dots do not count the hidden digits, and a number's
length is not told by its mask (a number written as the prefix and one run of
digits, `+49 30 1234567`, keeps four dots and its last four: `+49 30 ••••4567`).
Something that is not a phone number (a SIP or client address) keeps at most
its last four characters behind four dots.

Who sees a number whole is one rule, access/policy.py `sees_full_numbers`.
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from babel.core import get_global
from phonenumbers import NumberParseException, PhoneNumberFormat

DOT = "•"
_RUN = re.compile(r"\d+")


def country_of_zone(timezone: str) -> str | None:
    """The one country an IANA zone is in (`Asia/Tokyo` -> `JP`), from Babel's CLDR
    zone-territory table; None for zones of no one country (`UTC`, `Etc/GMT+9`)."""
    territory = get_global("zone_territories").get(timezone)
    if not territory or not territory.isalpha() or territory == "ZZ":
        return None
    return str(territory)


def _parse(number: str) -> phonenumbers.PhoneNumber | None:
    if not number.startswith("+"):
        return None
    try:
        return phonenumbers.parse(number, None)
    except NumberParseException:
        return None


@functools.lru_cache(maxsize=8192)
def _formatted(number: str, country: str | None) -> tuple[str, bool] | None:
    """(the number written for this floor, whether that is the national form)."""
    parsed = _parse(number)
    if parsed is None:
        return None
    national = country is not None and phonenumbers.region_code_for_number(parsed) == country
    # A number of the floor's own country code whose metadata has no region (a
    # fictional 555 number) is still the floor's: written nationally too.
    if not national and country is not None:
        national = parsed.country_code == phonenumbers.country_code_for_region(country) and (
            phonenumbers.region_code_for_number(parsed) is None
        )
    style = PhoneNumberFormat.NATIONAL if national else PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(parsed, style), national


def display(number: str | None, country: str | None) -> str:
    """The whole number, written for a floor in `country` (ISO 3166 alpha-2)."""
    if not number:
        return ""
    written = _formatted(number, country)
    return written[0] if written else number


@functools.lru_cache(maxsize=8192)
def masked(number: str | None, country: str | None) -> str:
    """The number masked (see the module's docstring); "" for none."""
    if not number:
        return ""
    if DOT in number:
        return number  # masked already (the archive keeps numbers as the API shows them)
    written = _formatted(number, country)
    if written is None:
        return DOT * 4 + number[-4:] if len(number) > 4 else DOT * 4
    text, national = written
    runs = list(_RUN.finditer(text))
    kept = 1 if national else 2  # the national prefix, or the country code and the prefix
    if len(runs) >= kept + 2:
        head, last = runs[kept - 1], runs[-1]
        # the separators as written: `03-` … `-5678`, `(555) ` … `-4567`
        after_head = text[head.end() : runs[kept].start()]
        before_last = text[runs[-2].end() : last.start()]
        return (
            text[: head.end()] + after_head + DOT * len(last.group()) + before_last + last.group()
        )
    # One group after the prefix (an unassigned range, or digits that were not grouped):
    # the prefix, then four dots and the last four digits, however many there were.
    if len(runs) == kept + 1:
        tail = runs[-1].group()
        return text[: runs[-1].start()] + DOT * 4 + (tail[-4:] if len(tail) > 4 else "")
    digits = "".join(r.group() for r in runs[0 if national else 1 :])
    lead = text[: runs[0].end()] + " " if not national and len(runs) > 1 else ""
    return lead + DOT * 4 + (digits[-4:] if len(digits) > 4 else "")


def shown(number: str | None, country: str | None, full: bool) -> str:
    """What a reader sees: whole (for a role in `[access] full_numbers`) or masked."""
    return display(number, country) if full else masked(number, country)
