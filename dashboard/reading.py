"""How the signed-in supervisor reads the floor: its clock, their language, numbers and names.

A page asks here and never formats a time, a number or a name itself: times in the
floor's zone (EARPIECE_TIMEZONE) and the reader's language (dashboard/i18n.py: their
roster `language`, else the browser's, else EARPIECE_LANGUAGE) through
core/floor_clock.py; customers' numbers whole or masked by the one rule
(access/policy.py `sees_full_numbers`) and written for the floor's country
(core/phone.py); agents by their roster names (live/names.py).
Plain functions of a `Page`, so the pages stay UI only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Any

from access.policy import sees_full_numbers
from access.principal import of_supervisor
from core import phone
from core.floor_clock import FloorClock
from dashboard.i18n import _
from dashboard.ui import Page
from live import names


def clock(page: Page) -> FloorClock:
    return FloorClock(page.settings.timezone, page.language)


def full_numbers(page: Page) -> bool:
    principal = of_supervisor(page.who, "session")
    return sees_full_numbers(principal, page.runtime.roster.full_number_roles)


def number(page: Page, raw: str | None) -> str:
    """A customer's number as this reader may see it, written for the floor's country."""
    return phone.shown(raw, page.settings.country, full_numbers(page))


def when(page: Page, at: Any) -> str:
    return clock(page).when(at)


def zone_named(page: Page) -> str:
    """The floor's time zone for a sentence: "Asia/Tokyo (JST)", or just "UTC" where its
    abbreviation is its name (a trial read "UTC (UTC)")."""
    zone, label = page.settings.timezone, clock(page).zone_label()
    return (
        zone if not label or label == zone else _("{zone} ({label})").format(zone=zone, label=label)
    )


def time_of_day(page: Page, at: Any) -> str:
    return clock(page).time_of_day(at)


def agent(page: Page, ident: str | None) -> str:
    """`鈴木一郎 (suzuki)` when the roster names the agent, else the ID."""
    return names.label(ident, page.runtime.roster.agent_names)


def supervisor(page: Page, ident: str | None) -> str:
    """A supervisor by the roster's name (as the board's Monitoring column says them), else
    the ID (someone no longer in the roster, an agent's or a key's audit name)."""
    known = page.runtime.roster.supervisors.get(ident or "")
    return known.name if known is not None and known.name else (ident or "")


def supervisor_names(page: Page) -> dict[str, str]:
    """Supervisor ID -> the roster's name, for a component that names people (the board's
    Monitoring column, the player's listeners)."""
    return {ident: p.name for ident, p in page.runtime.roster.supervisors.items() if p.name}


def namers(page: Page) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """How this page names an agent and a supervisor (dashboard/words.py `who`)."""
    return partial(agent, page), partial(supervisor, page)


def agents_in_order(page: Page, idents: list[str]) -> list[str]:
    """Agent IDs sorted by reading (else by name, else ID), as people look them up."""
    known = page.runtime.roster.agent_names
    return [p.id for p in names.sorted_people(known.get(i) or names.Person(i) for i in idents)]


def day_range_ms(
    page: Page, since: date | None, until: date | None
) -> tuple[int | None, int | None]:
    """A From/To pair of the floor's days as epoch ms (midnight to midnight on the floor)."""
    floor = clock(page)
    return (
        floor.day_start_ms(since) if since else None,
        floor.day_end_ms(until) if until else None,
    )
