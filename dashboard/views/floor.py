"""The floor: KPI tiles, the live call table with its filters, the actions on a
chosen call, and live calls per team over the last hour."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import altair as alt
import pandas as pd
import streamlit as st

from coach.errors import CoachError
from coach.rules import refusal
from dashboard import floor_table, ui
from dashboard.floor_table import ORDERS, STATES, Filters
from dashboard.runtime import Unavailable
from live import history
from live.attention import clock
from live.store import now_ms
from live.summary import summarize

LIMITS = (50, 100, 200, 500, 2000)
CHART_REFRESH_SECONDS = 15
CHART_MINUTES = 60
TABLE_HEIGHT = 460  # at most; a short floor gets a short table
ROW_PX = 35
# Filter widgets keep their values in these keys; copied to "keep-" keys so a
# visit to another page (which drops the widgets' own state) does not reset them.
FILTER_KEYS = ("f-team", "f-queue", "f-state", "f-agent", "f-order", "f-limit")


def remember_filters() -> None:
    state = st.session_state
    for key in FILTER_KEYS:
        if key in state:
            state["keep-" + key] = state[key]
        elif "keep-" + key in state:
            state[key] = state["keep-" + key]
    state.setdefault("f-order", ORDERS[0])
    state.setdefault("f-limit", 200)


def filters_sidebar(page: ui.Page) -> None:
    roster = page.runtime.roster
    teams = sorted(roster.teams)
    queues = sorted({t.queue for t in roster.teams.values()})
    with st.sidebar:
        st.subheader("Filters")
        st.multiselect("Team", teams, key="f-team", on_change=remember_filters)
        st.multiselect("Queue", queues, key="f-queue", on_change=remember_filters)
        st.multiselect("State", STATES, key="f-state", on_change=remember_filters)
        st.text_input("Agent", key="f-agent", placeholder="search", on_change=remember_filters)
        st.selectbox("Order", ORDERS, key="f-order", on_change=remember_filters)
        st.selectbox("Rows", LIMITS, key="f-limit", on_change=remember_filters)


def current_filters() -> Filters:
    state = st.session_state
    return Filters(
        teams=tuple(state.get("f-team") or ()),
        queues=tuple(state.get("f-queue") or ()),
        states=tuple(state.get("f-state") or ()),
        agent=str(state.get("f-agent") or ""),
        order=str(state.get("f-order") or ORDERS[0]),
        limit=int(state.get("f-limit") or 200),
    )


def table_key() -> str:
    return f"floor-table-{st.session_state.get('table-gen', 0)}"


def take_selection() -> None:
    """A click on a row selects that call by its SID, from the order the browser showed.

    The table's selection is a row position, and the rows move as calls come
    and go; so the position is turned into a SID at once, and the table is
    given a new key (no stale highlight moving onto another call)."""
    state = st.session_state
    selected = state.get(table_key())
    rows = (selected or {}).get("selection", {}).get("rows") or []
    if not rows:
        return
    shown: list[str] = state.get("floor-shown") or []
    if rows[0] < len(shown):
        state["selected-sid"] = shown[rows[0]]
    state["table-gen"] = state.get("table-gen", 0) + 1


def kpis(conferences: list[dict[str, object]], now_s: float) -> None:
    summary = summarize(conferences, now_s)
    tiles = st.columns(6)
    tiles[0].metric("Live calls", summary.live, border=True)
    tiles[1].metric("Waiting", summary.waiting, border=True)
    tiles[2].metric("On hold", summary.on_hold, border=True)
    tiles[3].metric("Monitored", summary.monitored, border=True)
    tiles[4].metric("Longest call", clock(summary.longest_call_seconds), border=True)
    tiles[5].metric("Longest wait", clock(summary.longest_wait_seconds), border=True)


def chosen_call(page: ui.Page, by_sid: dict[str, dict[str, object]]) -> None:
    sid = st.session_state.get("selected-sid")
    if not sid:
        st.caption("Click a row to listen, whisper or barge on that call.")
        return
    conference = by_sid.get(sid)
    if conference is None:
        st.info("The call you chose has ended.")
        st.session_state.pop("selected-sid", None)
        return
    number = floor_table.mask_number(
        floor_table.customer_number(conference), page.settings.mask_customer_numbers
    )
    with st.container(border=True):
        st.markdown(
            f"**{conference.get('agent') or 'No agent yet'}** · {conference.get('team') or '—'}"
            f" · customer {number or 'unknown'} · {conference.get('state')}"
        )
        if ui.own_monitor(conference, page.who.id) is None:
            ui.mode_buttons(page, conference, key=f"floor-{sid}")
        else:
            st.caption("You are on this call: its controls are above.")
        if st.button("Open call page →", key=f"open-{sid}"):
            st.switch_page("views/call.py", query_params={"sid": sid})


def help_banner(asking: list[dict[str, object]]) -> None:
    """Agents asking for help, each a click away from their call's controls."""
    if not asking:
        return
    with st.container(border=True):
        st.error(f"{len(asking)} agent(s) ask for help", icon=":material/sos:")
        columns = st.columns(min(4, len(asking)))
        for n, c in enumerate(asking[:8]):
            agent = (c.get("help") or {}).get("agent", "?")  # type: ignore[attr-defined]
            if columns[n % len(columns)].button(f"Go to {agent}", key=f"help-{c['sid']}",
                                                icon=":material/sos:"):  # fmt: skip
                st.session_state["selected-sid"] = str(c["sid"])


def team_of(page: ui.Page, agent: str) -> str | None:
    team = page.runtime.roster.team_for(agent)
    return team.name if team else None


def follow_sidebar(page: ui.Page) -> None:
    """Follow an agent: join their next calls automatically, listening."""
    rt = page.runtime
    try:
        following = rt.run(rt.services.floor.follows()).get(page.who.id)
    except Unavailable:
        return
    agents = sorted(
        a for a in rt.roster.agents if refusal(page.who, "listen", team_of(page, a)) is None
    )
    options = ["nobody", *agents]
    with st.sidebar:
        st.subheader("Follow")
        chosen = st.selectbox(
            "Join this agent's next calls, listening", options,
            index=options.index(following) if following in options else 0, key="follow",
        )  # fmt: skip
    wanted = None if chosen == "nobody" else chosen
    if wanted != following:
        try:
            rt.run(rt.services.coach.follow(page.who.id, wanted))
        except (CoachError, Unavailable) as exc:
            st.sidebar.error(str(getattr(exc, "message", exc)))


def own_call(page: ui.Page, by_sid: dict[str, dict[str, object]]) -> None:
    """The call the supervisor is on, wherever it sits in the table."""
    for sid, conference in by_sid.items():
        if ui.own_monitor(conference, page.who.id) is not None:
            with st.container(border=True):
                st.markdown(f"**You are on {conference.get('agent') or 'a call'}'s call**")
                ui.mic_banner(conference, page.who.id)
                ui.mode_buttons(page, conference, key=f"own-{sid}")
            return


def live_part(page: ui.Page) -> None:
    started = time.perf_counter()
    take_selection()
    try:
        snapshot = page.runtime.floor(page.settings.dashboard_refresh_seconds / 2)
    except Unavailable as exc:
        st.error(f"{exc}. The floor shows again as soon as it answers.", icon=":material/warning:")
        return
    now_s = time.time()
    conferences = snapshot.conferences
    by_sid = {str(c["sid"]): c for c in conferences}
    ui.show_flash()
    help_banner(ui.help_cue(conferences))
    own_call(page, by_sid)
    kpis(conferences, now_s)
    filters = current_filters()
    chosen = floor_table.choose(conferences, filters, now_s)
    shown = chosen[: filters.limit]
    st.session_state["floor-shown"] = [str(c["sid"]) for c in shown]
    chosen_call(page, by_sid)
    frame = floor_table.table(shown, now_s, page.settings.mask_customer_numbers)
    selected = st.session_state.get("selected-sid")
    if selected in frame.index:
        frame.loc[selected, "Agent"] = "▶ " + str(frame.loc[selected, "Agent"])
    st.dataframe(
        frame, key=table_key(), on_select="rerun", selection_mode="single-row",
        hide_index=True, height=min(TABLE_HEIGHT, ROW_PX * (len(frame) + 1) + 3),
        column_config=COLUMN_CONFIG,
    )  # fmt: skip
    drawn_ms = (time.perf_counter() - started) * 1000
    st.caption(
        f"{len(shown)} of {len(chosen)} calls shown ({len(conferences)} live) · "
        f"read in {snapshot.read_ms:.0f} ms · drawn in {drawn_ms:.0f} ms · "
        f"updated {datetime.now(UTC):%H:%M:%S} UTC"
    )


COLUMN_CONFIG = {
    "Attention": st.column_config.NumberColumn(
        "Attention", help="Needs-attention score: the sum of the call's alert weights"
    ),
    "Why": st.column_config.TextColumn("Why", help="What makes the attention score"),
    "Customer": st.column_config.TextColumn("Customer", help="Masked unless the setting says not"),
}


def chart_part(page: ui.Page) -> None:
    since = now_ms() - CHART_MINUTES * 60_000
    try:
        samples = page.runtime.run(history.samples(page.runtime.services.floor, since))
    except Unavailable:
        return  # the live part above already says Redis is down
    try:
        # The last point is now, so even a fresh floor (one sample) draws a line.
        current = summarize(page.runtime.floor(CHART_REFRESH_SECONDS).conferences, time.time())
    except Unavailable:
        return
    points = [*((s.at_ms, s.by_team) for s in samples), (now_ms(), current.by_team)]
    # Every team at every point (0 where it had none), so each draws a whole area.
    teams = sorted({team for _, by_team in points for team in by_team})
    rows = [
        {"time": pd.Timestamp(at, unit="ms", tz="UTC"), "team": team, "calls": by_team.get(team, 0)}
        for at, by_team in points
        for team in teams
    ]
    st.subheader("Live calls, last hour, by team")
    if not rows:
        st.caption("No samples yet: the callback service records one every "
                   f"{history.BUCKET_SECONDS} s.")  # fmt: skip
        return
    chart = (
        alt.Chart(pd.DataFrame(rows))
        .mark_area(interpolate="monotone", opacity=0.8)
        .encode(
            x=alt.X(
                "time:T",
                title=None,
                axis=alt.Axis(format="%H:%M", tickCount={"interval": "minute", "step": 5}),
            ),
            y=alt.Y("sum(calls):Q", title="live calls", stack=True),
            color=alt.Color("team:N", title="Team"),
            tooltip=["time:T", "team:N", "calls:Q"],
        )
        .properties(height=220)
    )
    st.altair_chart(chart, width="stretch")


def main() -> None:
    page = ui.current()
    remember_filters()
    filters_sidebar(page)
    follow_sidebar(page)
    st.title("Floor")
    st.fragment(run_every=page.settings.dashboard_refresh_seconds)(live_part)(page)
    st.fragment(run_every=CHART_REFRESH_SECONDS)(chart_part)(page)


if __name__ == "__main__":
    main()
