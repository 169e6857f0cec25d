"""The Day page's charts (issue 27 §5), as Altair specs (Vega-Lite, as the floor's chart is).

Pure: rows in (live/day.py's Slot JSON, the agents' cards), charts out, so tests and the
bench build them without Streamlit. Times are the half hours of the floor's day in
EARPIECE_TIMEZONE, as labels ("09:30"), so the browser's own zone never shifts them. No axis
`tickCount` interval objects: Streamlit's Vega throws on them (the floor chart's bug).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd

from dashboard import agent_cards
from dashboard.i18n import N_, _

ALL_QUEUES = N_("All queues")  # the choice's value; shown in the reader's words
HEIGHT = 200
# A chart with nothing to draw is said in a sentence instead (its function returns None):
# its empty axes told a reader nothing (the answer-time axis read "0.000000"), and Vega
# marks a layer with no items as an image with no text, which axe reports (svg-img-alt).
NO_SERVICE_LEVEL = N_(
    "No service level yet: no call was answered or abandoned in these half hours."
)
NO_TIMES = N_("No answer or handle time yet: no call was answered in these half hours.")
NO_OCCUPANCY = N_("No occupancy yet: no agent was ready in these half hours.")
NO_ACTIVITY = N_("No agent activity yet in these half hours.")
# The day's figures (live/day.py's Slot JSON) as the table under the charts heads them.
FIGURES = {
    "time": N_("time"), "queue": N_("queue"), "offered": N_("offered"),
    "answered": N_("answered"), "abandoned": N_("abandoned"),
    "answered_in_sl": N_("answered within target"), "wait_seconds": N_("wait (s)"),
    "archived_calls": N_("archived calls"), "handle_seconds": N_("handle (s)"),
    "service_level": N_("service level"), "service_level_target": N_("target"),
    "below_target": N_("below target"), "average_answer_seconds": N_("average answer (s)"),
    "average_handle_seconds": N_("average handle (s)"), "slot": N_("slot"),
}  # fmt: skip


def queue_label(queue: str) -> str:
    return _(ALL_QUEUES) if queue == ALL_QUEUES else queue


def in_words(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The rows as the table shows them: headed in the reader's words, "All queues" too."""
    table = pd.DataFrame([{**r, "queue": queue_label(str(r.get("queue")))} for r in rows])
    return table.rename(columns={k: _(v) for k, v in FIGURES.items()})


def combine(rows: Sequence[Mapping[str, Any]], queue: str) -> list[dict[str, Any]]:
    """The rows of one queue, or every queue summed per half hour (service level and
    averages recomputed from the summed counts, never from rounded ratios)."""
    if queue != ALL_QUEUES:
        return [dict(r) for r in rows if r["queue"] == queue]
    sums = (
        "offered",
        "answered",
        "abandoned",
        "answered_in_sl",
        "wait_seconds",
        "archived_calls",
        "handle_seconds",
    )
    by_slot: dict[int, dict[str, Any]] = {}
    for r in rows:
        s = by_slot.setdefault(
            r["slot"],
            {
                "slot": r["slot"],
                "time": r["time"],
                "queue": ALL_QUEUES,
                **dict.fromkeys(sums, 0),
                "service_level_target": r["service_level_target"],
            },
        )
        for k in sums:
            s[k] += r[k]
    out = []
    for s in sorted(by_slot.values(), key=lambda x: x["slot"]):
        decided = s["answered"] + s["abandoned"]
        level = s["answered_in_sl"] / decided if decided else None
        s["service_level"] = round(level, 4) if level is not None else None
        s["below_target"] = level is not None and level < s["service_level_target"]
        s["average_answer_seconds"] = (
            round(s["wait_seconds"] / s["answered"], 1) if s["answered"] else None
        )
        s["average_handle_seconds"] = (
            round(s["handle_seconds"] / s["archived_calls"], 1) if s["archived_calls"] else None
        )
        out.append(s)
    return out


def _x() -> alt.X:
    return alt.X("time:O", title=None, sort=None)


def volume_chart(rows: Sequence[Mapping[str, Any]]) -> Any:
    whats = [_(FIGURES[w]) for w in ("offered", "answered", "abandoned")]
    long = [
        {"time": r["time"], "what": _(FIGURES[what]), "calls": r[what]}
        for r in rows
        for what in ("offered", "answered", "abandoned")
    ]
    return (
        alt.Chart(pd.DataFrame(long, columns=["time", "what", "calls"]))
        .mark_line(point=True)
        .encode(
            x=_x(),
            y=alt.Y("calls:Q", title=_("calls"), axis=alt.Axis(tickMinStep=1, format="d")),
            color=alt.Color("what:N", title=None, sort=whats),
            tooltip=["time:O", "what:N", "calls:Q"],
        )
        .properties(height=HEIGHT, title=_("Offered, answered, abandoned per half hour"))
    )


def service_level_chart(rows: Sequence[Mapping[str, Any]], target: float) -> Any | None:
    data = pd.DataFrame(
        [
            {"time": r["time"], "service level": r["service_level"]}
            for r in rows
            if r["service_level"] is not None
        ],
        columns=["time", "service level"],
    )
    if data.empty:
        return None
    line = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=_x(),
            # No axis title: the chart's title says what it is, and a rotated title longer
            # than the plot (Japanese, and the layer's two titles joined with a comma) rose
            # over the chart's own title, which the page then cut off (a trial's screenshot).
            y=alt.Y(
                "service level:Q",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
                title=None,
            ),
            tooltip=[
                "time:O",
                alt.Tooltip("service level:Q", format=".0%", title=_("service level")),
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"target": [target]}))
        .mark_rule(strokeDash=[6, 4], color="#c62828")
        .encode(y=alt.Y("target:Q", title=None))
    )
    return alt.layer(line, rule).properties(
        height=HEIGHT,
        title=_("Service level against its target ({target})").format(target=f"{target:.0%}"),
    )


def times_chart(rows: Sequence[Mapping[str, Any]]) -> Any | None:
    long = [
        {"time": r["time"], "what": label, "seconds": r[key]}
        for r in rows
        for key, label in (
            ("average_answer_seconds", _("average answer")),
            ("average_handle_seconds", _("average handle")),
        )
        if r[key] is not None
    ]
    if not long:
        return None
    return (
        alt.Chart(pd.DataFrame(long, columns=["time", "what", "seconds"]))
        .mark_line(point=True)
        .encode(
            x=_x(),
            y=alt.Y("seconds:Q", title=_("seconds")),
            color=alt.Color("what:N", title=None),
            tooltip=["time:O", "what:N", "seconds:Q"],
        )
        .properties(height=HEIGHT, title=_("Average answer and handle time"))
    )


def team_activity_chart(cards: Iterable[Any]) -> Any:
    """Agents by what they do now (on a call, wrap-up, available, or their activity), per team."""
    counts: dict[tuple[str, str], int] = {}
    for card in cards:
        key = (card.team or _("no team"), agent_cards.state_label(card.state))
        counts[key] = counts.get(key, 0) + 1
    data = pd.DataFrame(
        [{"team": t, "state": s, "agents": n} for (t, s), n in counts.items()],
        columns=["team", "state", "agents"],
    )
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("team:N", title=None),
            # Headcounts: whole ticks (a trial read 0.0, 0.1 … 2.0 agents).
            x=alt.X(
                "agents:Q", stack=True, title=_("agents"), axis=alt.Axis(tickMinStep=1, format="d")
            ),
            color=alt.Color("state:N", title=None),
            tooltip=["team:N", "state:N", "agents:Q"],
        )
        .properties(
            # The height holds the title and the axis as well as the bars (the chart fits
            # its box): 28 px a team left two teams' bars a few pixels tall, names overlapping.
            height=80 + 36 * len({t for t, _ in counts}),
            title=_("Agents by activity, per team (now)"),
        )
    )


ALL_TEAMS = N_("All teams")  # the choice's value; shown in the reader's words
# How the Day page says it, under the chart (live/team_time.py says why these parts).
OCCUPANCY_HELP = N_(
    "Occupancy = time talking and wrapping up ÷ (time available and idle + talking + "
    "wrapping up), as Amazon Connect and Flex Insights define it: the share of the agents' "
    "ready time spent handling calls. Breaks, offline and other unavailable time are outside "
    "it; agents by activity shows them."
)
# The states of live/team_time.py's rows that are Earpiece's words (the rest are TaskRouter
# activities' names, shown as the Workspace names them).
TEAM_STATES = {"on a call": N_("on a call"), "wrap-up": N_("wrap-up"), "available": N_("available")}


def combine_teams(rows: Sequence[Mapping[str, Any]], team: str) -> list[dict[str, Any]]:
    """One team's half hours (live/team_time.py's rows), or every team's summed per half hour
    (occupancy recomputed from the summed times, never averaged)."""
    chosen = [r for r in rows if team == ALL_TEAMS or r["team"] == team]
    by_slot: dict[int, dict[str, Any]] = {}
    for r in chosen:
        s = by_slot.setdefault(
            r["slot"],
            {
                "slot": r["slot"],
                "time": r["time"],
                "talk_seconds": 0.0,
                "wrap_seconds": 0.0,
                "idle_seconds": 0.0,
                "agents": {},
            },
        )
        for k in ("talk_seconds", "wrap_seconds", "idle_seconds"):
            s[k] += r[k]
        for state, n in r["agents"].items():
            s["agents"][state] = s["agents"].get(state, 0.0) + n
    out = []
    for s in sorted(by_slot.values(), key=lambda x: x["slot"]):
        handling = s["talk_seconds"] + s["wrap_seconds"]
        staffed = handling + s["idle_seconds"]
        s["occupancy"] = round(handling / staffed, 4) if staffed else None
        s["agents"] = {k: round(v, 3) for k, v in s["agents"].items()}
        out.append(s)
    return out


def occupancy_chart(rows: Sequence[Mapping[str, Any]]) -> Any | None:
    what = _("occupancy")
    data = pd.DataFrame(
        [{"time": r["time"], what: r["occupancy"]} for r in rows if r["occupancy"] is not None],
        columns=["time", what],
    )
    if data.empty:
        return None
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=_x(),
            y=alt.Y(f"{what}:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            tooltip=["time:O", alt.Tooltip(f"{what}:Q", format=".0%")],
        )
        .properties(height=HEIGHT, title=_("Occupancy per half hour (talk + wrap-up ÷ ready time)"))
    )


def agents_by_activity_chart(rows: Sequence[Mapping[str, Any]]) -> Any | None:
    """Agents in each state per half hour, on average (time in it ÷ 30 minutes), stacked."""
    order = [_(word) for word in TEAM_STATES.values()]
    long = [
        {
            "time": r["time"],
            "state": _(TEAM_STATES[state]) if state in TEAM_STATES else state,
            "agents": n,
        }
        for r in rows
        for state, n in r["agents"].items()
    ]
    if not long:
        return None
    others = sorted({x["state"] for x in long} - set(order))
    return (
        alt.Chart(pd.DataFrame(long, columns=["time", "state", "agents"]))
        .mark_bar()
        .encode(
            x=_x(),
            # (No axis title, as the service level's: the chart's title says it.)
            y=alt.Y("agents:Q", stack=True, title=None),
            color=alt.Color("state:N", title=None, sort=[*order, *others]),
            order=alt.Order("state:N"),
            tooltip=["time:O", "state:N", alt.Tooltip("agents:Q", format=".1f")],
        )
        .properties(height=HEIGHT, title=_("Agents by activity per half hour"))
    )
