"""Day: the floor's day in charts (issue 27 §5), in EARPIECE_TIMEZONE.

Per queue (or all summed) per half hour: offered, answered, abandoned, the service level
against its target, average answer and handle time; per team (or all summed) per half hour,
occupancy and agents by activity (live/team_time.py); and agents by activity now. From
TaskRouter's events (counted in Redis) and the archive (live/day.py says which is which),
so a restart of any process loses nothing. Charts are dashboard/day_charts.py's.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import streamlit as st

from core import times
from dashboard import agent_cards, day_charts, i18n, ui
from dashboard.i18n import _
from dashboard.runtime import Unavailable
from live import day as day_model

DAYS_BACK = 3  # TaskRouter's counters are kept three days (live/queues.py KEEP_SECONDS)


def rows_of(page: ui.Page, day: str) -> list[dict[str, Any]]:
    services = page.runtime.services
    zone = ZoneInfo(page.settings.timezone)
    start, end = times.day_bounds(day, zone)
    tr = page.runtime.run(day_model.taskrouter_slots(services.queues, day))
    archived = page.runtime.run(services.store.day_slots(start, end))
    target = page.settings.service_level_target
    return [row.json(target) for row in day_model.merge(tr, archived)]


def team_rows_of(page: ui.Page, day: str) -> list[dict[str, Any]]:
    """The teams' half hours the supervisor may see (a lead: their teams)."""
    services = page.runtime.services
    archived = page.runtime.run(services.store.team_slots(day))
    rows = page.runtime.run(
        day_model.team_slots(services.queues, day, archived, int(time.time() * 1000))
    )
    if page.who.role == "lead":
        rows = [r for r in rows if r["team"] in page.who.teams]
    return rows


def chart(drawn: Any | None, nothing: str) -> None:
    """The chart, or the sentence saying why there is none (day_charts.NO_…)."""
    if drawn is None:
        st.caption(_(nothing))
    else:
        st.altair_chart(drawn, width="stretch")


def main() -> None:
    page = ui.current()
    zone = ZoneInfo(page.settings.timezone)
    st.title(_("Day"))
    today = datetime.now(zone).date()
    days = [(today - timedelta(days=n)).isoformat() for n in range(DAYS_BACK)]
    left, right = st.columns(2)
    # "Date", not the page's own title again (a trial read 日次 twice: 日付 is the date).
    day = str(left.selectbox(_("Date"), days, key="day-day"))
    try:
        rows = rows_of(page, day)
        agents = page.runtime.run(page.runtime.services.queues.agents())
    except Unavailable as exc:
        st.error(str(exc))
        return
    queues = sorted({r["queue"] for r in rows})
    queue = str(
        right.selectbox(
            _("Queue"),
            [day_charts.ALL_QUEUES, *queues],
            key="day-queue",
            format_func=i18n.bound(day_charts.queue_label),
        )
    )
    st.caption(
        _(
            "Half hours of {day} in {zone}; offered, answered and abandoned from "
            "TaskRouter's events, handle time from the archive."
        ).format(day=day, zone=page.settings.timezone)
    )
    shown = day_charts.combine(rows, queue)
    if not shown:
        st.info(_("No calls yet on this day."))
    else:
        target = page.settings.service_level_target
        st.altair_chart(day_charts.volume_chart(shown), width="stretch")
        chart(day_charts.service_level_chart(shown, target), day_charts.NO_SERVICE_LEVEL)
        chart(day_charts.times_chart(shown), day_charts.NO_TIMES)
    try:
        team_rows = team_rows_of(page, day)
    except Unavailable as exc:
        st.error(str(exc))
        return
    teams = sorted({r["team"] for r in team_rows}, key=lambda t: (t == "", t))
    names = {t or _("no team"): t for t in teams}
    if team_rows:
        every = _(day_charts.ALL_TEAMS)
        chosen = str(st.selectbox(_("Team"), [every, *names], key="day-team"))
        by_team = day_charts.combine_teams(
            team_rows, day_charts.ALL_TEAMS if chosen == every else names[chosen]
        )
        chart(day_charts.occupancy_chart(by_team), day_charts.NO_OCCUPANCY)
        st.caption(_(day_charts.OCCUPANCY_HELP))
        chart(day_charts.agents_by_activity_chart(by_team), day_charts.NO_ACTIVITY)
    cards = agent_cards.visible(page.who, agents)
    if cards:
        st.altair_chart(day_charts.team_activity_chart(cards), width="stretch")
    with st.expander(_("The numbers")):
        st.dataframe(day_charts.in_words(shown), hide_index=True)
    drawn = f"{datetime.fromtimestamp(time.time(), zone):%H:%M:%S}"
    st.caption(_("Drawn at {time}.").format(time=drawn))


if __name__ == "__main__":
    main()
