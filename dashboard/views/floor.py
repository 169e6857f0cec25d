"""The floor: KPI tiles and the live call table (drawn by the browser, dashboard/board.py),
its filters, the actions on a chosen call, and live calls per team over the last hour."""

from __future__ import annotations

import time

import altair as alt
import pandas as pd
import streamlit as st
from babel.lists import format_list

from access.modes import MODES, refusal
from dashboard import board, i18n, listen, reading, ui
from dashboard import cues as cues_module
from dashboard import words as said_words
from dashboard.actions import Refused
from dashboard.i18n import N_, _, ngettext
from dashboard.runtime import Unavailable
from dashboard.text import literal
from live import history, preferences, words
from live.board import (
    LIMITS,
    ORDERS,
    STATES,
    Filters,
    control_key,
    cues,
    customer_number,
    help_key,
    monitors_by_supervisor,
    row,
)
from live.store import now_ms
from live.summary import NO_TEAM, summarize

# The chart's samples are 30 s apart (live/history.py): a redraw more often shows nothing new.
CHART_REFRESH_SECONDS = history.BUCKET_SECONDS
CHART_MINUTES = 60
ORDER_NAMES = list(ORDERS.values())  # the widget keeps the English; shown translated
# live/board.py's ORDERS and STATES in words (marked here, translated where shown).
ORDER_WORDS = {
    "Needs attention first": N_("Needs attention first"),
    "Longest call first": N_("Longest call first"),
    "Newest first": N_("Newest first"),
    "Agent A to Z": N_("Agent A to Z"),
}
STATE_WORDS = {"waiting": N_("waiting"), "talking": N_("talking"), "hold": N_("hold")}
# live/preferences.py's COLUMNS, which are the board's English headers.
COLUMN_WORDS = (
    N_("Team"), N_("Queue"), N_("Customer"), N_("Duration"), N_("On hold"), N_("Holds"),
    N_("Monitoring"), N_("Speaking"), N_("Agent talk"), N_("Silence"), N_("Alerts"),
    N_("Last said"), N_("Attention"), N_("Why"),
)  # fmt: skip


def _word(table: dict[str, str], value: str) -> str:
    return _(table[value]) if value in table else value


# Filter widgets keep their values in these keys; copied to "keep-" keys so a
# visit to another page (which drops the widgets' own state) does not reset them.
FILTER_KEYS = ("f-team", "f-queue", "f-state", "f-agent", "f-order", "f-limit", "f-cols")


def board_prefs(page: ui.Page) -> preferences.Preferences:
    rt = page.runtime
    return preferences.Preferences(rt.services.redis, page.settings.namespace, rt.roster)


def load_board_prefs(page: ui.Page) -> None:
    """A session's first run: the team filter and columns the supervisor chose, kept on the
    server (the same after a reload, in another browser); a lead who never chose starts on
    their own teams (issue 28: a lead's board showed the whole floor, billing on top)."""
    state = st.session_state
    if "prefs-loaded" in state:
        return
    try:
        prefs = page.runtime.run(board_prefs(page).board(page.who))
    except Unavailable:
        prefs = preferences.defaults(page.who, page.runtime.roster)
    state.setdefault("f-team", list(prefs.teams))
    state.setdefault("f-cols", list(prefs.columns))
    state["prefs-loaded"] = True


def save_board_prefs() -> None:
    """The team filter or the columns changed: kept for this supervisor on the server."""
    remember_filters()
    page = ui.current()
    state = st.session_state
    try:
        page.runtime.run(
            board_prefs(page).save_board(
                page.who, state.get("f-team") or (), state.get("f-cols") or ()
            )
        )
    except Unavailable as exc:
        ui.flash("error", _("Your board's choices were not saved: {reason}").format(reason=exc))


def remember_filters() -> None:
    state = st.session_state
    for key in FILTER_KEYS:
        if key in state:
            state["keep-" + key] = state[key]
        elif "keep-" + key in state:
            state[key] = state["keep-" + key]
    state.setdefault("f-order", ORDER_NAMES[0])
    state.setdefault("f-limit", 200)


def filters_sidebar(page: ui.Page) -> None:
    roster = page.runtime.roster
    teams = sorted(roster.teams)
    queues = sorted({t.queue for t in roster.teams.values()})
    with st.sidebar:
        st.subheader(_("Filters"))
        st.multiselect(
            _("Team"),
            teams,
            key="f-team",
            on_change=save_board_prefs,
            help=_("Kept for you: the same after a reload and in another browser"),
            placeholder=_("Choose options"),
        )
        st.multiselect(
            _("Queue"),
            queues,
            key="f-queue",
            on_change=remember_filters,
            placeholder=_("Choose options"),
        )
        st.multiselect(
            _("State"),
            STATES,
            key="f-state",
            on_change=remember_filters,
            format_func=i18n.bound(lambda v: _word(STATE_WORDS, v)),
            placeholder=_("Choose options"),
        )
        st.text_input(
            _("Agent"), key="f-agent", placeholder=_("search"), on_change=remember_filters
        )
        st.selectbox(
            _("Order"),
            ORDER_NAMES,
            key="f-order",
            on_change=remember_filters,
            format_func=i18n.bound(lambda v: _word(ORDER_WORDS, v)),
        )
        st.selectbox(_("Rows"), LIMITS, key="f-limit", on_change=remember_filters)
        st.multiselect(
            _("Columns"),
            preferences.COLUMNS,
            key="f-cols",
            on_change=save_board_prefs,
            help=_("Agent and State always show; kept for you"),
            format_func=i18n.bound(_),
            placeholder=_("Choose options"),
        )


def current_filters() -> Filters:
    state = st.session_state
    return Filters(
        teams=tuple(state.get("f-team") or ()),
        queues=tuple(state.get("f-queue") or ()),
        states=tuple(state.get("f-state") or ()),
        agent=str(state.get("f-agent") or ""),
        order=next((k for k, v in ORDERS.items() if v == state.get("f-order")), "attention"),
        limit=int(state.get("f-limit") or 200),
    )


def chosen_call(page: ui.Page, by_sid: dict[str, dict[str, object]]) -> None:
    sid = st.session_state.get("selected-sid")
    if not sid:
        # The box keeps its height for the controls to come (CONTROLS_HEIGHT): say what
        # goes there, rather than leave a blank band above the table.
        with st.container(border=True, key="floor-controls-none"):
            st.markdown("**" + _("No call chosen") + "**")
            # What this supervisor may do on their calls (QA only listens: a trial found
            # the hint promising QA a whisper and a barge).
            home = page.who.teams[0] if page.who.teams else None
            usable = [m for m in MODES if refusal(page.who, m, home) is None]
            if usable == ["listen"]:
                st.caption(_("Click a row to listen to that call."))
            else:
                st.caption(_("Click a row to listen, whisper or barge on that call."))
            st.caption(
                _("Then from the keyboard: {keys}.").format(
                    keys=format_list(
                        [
                            _("{key} {action}").format(
                                key=ui.SHORTCUTS[mode], action=_(ACTIONS[mode])
                            )
                            for mode in (*usable, "leave")
                        ],
                        locale=i18n.language(),  # "、" between them in Japanese
                    )
                )
            )
        return
    conference = by_sid.get(sid)
    if conference is None:
        st.info(_("The call you chose has ended."))
        st.session_state.pop("selected-sid", None)
        return
    number = reading.number(page, customer_number(conference))
    agent = reading.agent(page, str(conference.get("agent") or "")) or _("No agent yet")
    with st.container(border=True):
        state = _word(STATE_WORDS, str(conference.get("state") or ""))
        customer = _("customer {number}").format(number=literal(number or _("unknown")))
        st.markdown(
            f"**{literal(agent)}** · {literal(conference.get('team') or '—')} · {customer}"
            f" · {literal(state)}"
        )
        # The keys work the chosen call unless you are on one (then they work yours).
        mine = monitors_by_supervisor(by_sid.values()).get(page.who.id)
        ui.mode_buttons(page, conference, key=f"floor-{sid}", shortcuts=mine is None)
        listen.control(page, conference, key=f"floor-{sid}")
        if st.button(_("Open call page →"), key=f"open-{sid}"):
            st.switch_page("views/call.py", query_params={"sid": sid})


def help_banner(page: ui.Page, asking: list[dict[str, object]]) -> None:
    """Agents asking for help, each a click away from their call's controls."""
    if not asking:
        return
    with st.container(border=True):
        count = len(asking)
        st.error(
            ngettext("{n} agent asks for help", "{n} agents ask for help", count).format(n=count),
            icon=":material/sos:",
        )
        columns = st.columns(min(4, len(asking)))
        for n, c in enumerate(asking[:8]):
            agent = (c.get("help") or {}).get("agent", "?")  # type: ignore[attr-defined]
            label = _("Go to {agent}").format(agent=literal(reading.agent(page, agent)))
            if columns[n % len(columns)].button(
                label, key=f"help-{c['sid']}", icon=":material/sos:"
            ):
                st.session_state["selected-sid"] = str(c["sid"])


def phrase_banner(page: ui.Page, said: list[dict[str, object]]) -> None:
    """Calls where a team phrase was said (and nobody muted it), a click from their call."""
    if not said:
        return
    with st.container(border=True):
        count = len(said)
        st.warning(
            ngettext(
                "{n} call said a phrase to watch", "{n} calls said a phrase to watch", count
            ).format(n=count),
            icon=":material/campaign:",
        )
        columns = st.columns(min(4, len(said)))
        for n, hit in enumerate(said[:8]):
            label = _("Go to {agent}: {phrase}").format(
                agent=literal(reading.agent(page, str(hit["agent"] or "")) or "?"),
                phrase=ui.phrase_text(hit),
            )
            if columns[n % len(columns)].button(
                label, key=f"phrase-{hit['sid']}", icon=":material/campaign:"
            ):
                st.session_state["selected-sid"] = str(hit["sid"])


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
    agents = reading.agents_in_order(
        page, [a for a in rt.roster.agents if refusal(page.who, "listen", team_of(page, a)) is None]
    )
    options = ["nobody", *agents]
    with st.sidebar:
        st.subheader(_("Follow"))
        chosen = st.selectbox(
            _("Join this agent's next calls, listening"),
            options,
            index=options.index(following) if following in options else 0,
            key="follow",
            format_func=i18n.bound(
                lambda a: _("nobody") if a == "nobody" else reading.agent(page, a)
            ),
        )
    wanted = None if chosen == "nobody" else chosen
    if wanted != following:
        try:
            page.acting.follow(wanted)
        except Refused as exc:
            st.sidebar.error(literal(said_words.error(exc.code, exc.message)))


def own_call(page: ui.Page, by_sid: dict[str, dict[str, object]]) -> None:
    """The call the supervisor is on, wherever it sits in the table."""
    for sid, conference in by_sid.items():
        if ui.own_monitor(conference, page.who.id) is not None:
            with st.container(border=True):
                agent = reading.agent(page, str(conference.get("agent") or ""))
                if agent:
                    st.markdown(_("**You are on {agent}'s call**").format(agent=literal(agent)))
                else:
                    st.markdown(_("**You are on a call**"))
                ui.mic_banner(conference, page.who.id)
                ui.mode_buttons(page, conference, key=f"own-{sid}", shortcuts=True)
                if st.button(_("Open call page →"), key=f"own-open-{sid}"):
                    st.switch_page("views/call.py", query_params={"sid": sid})
            return


# What each shortcut does, as the empty controls box says it ("L listen, W whisper, ...").
ACTIONS = {"listen": N_("listen"), "whisper": N_("whisper"), "barge": N_("barge"),
           "leave": N_("leave")}  # fmt: skip


# The call controls sit in a box of one height above the table, whatever is in it (nothing
# chosen, a chosen call, your own call, both side by side), so choosing a row or joining a
# call never moves the table (issue 28: a choice pushed it down ~150 px, and two panels
# stacked left four rows). What does not fit scrolls inside the box.
CONTROLS_HEIGHT = 210


def controls(page: ui.Page, by_sid: dict[str, dict[str, object]], own_sid: str | None) -> None:
    chosen = st.session_state.get("selected-sid")
    with st.container(height=CONTROLS_HEIGHT, border=False, key="floor-controls"):
        ui.show_flash()  # an action's outcome, beside the buttons that took it
        if own_sid in by_sid and chosen and chosen != own_sid:
            yours, theirs = st.columns(2)
            with yours:
                own_call(page, by_sid)
            with theirs:
                chosen_call(page, by_sid)
        elif own_sid in by_sid:
            own_call(page, by_sid)  # the chosen call is yours (or none is chosen)
        else:
            chosen_call(page, by_sid)


def new_stream(page: ui.Page) -> None:
    """A ticket for one stream, and the stream's URL for the current filters."""
    ticket = board.new_ticket(page, "board")
    if ticket is None:
        return  # the live part says Redis is down; the next run tries again
    st.session_state["board-ticket"] = ticket
    st.session_state["board-url"] = board.stream_url(
        page.settings.board_feed_url, ticket, current_filters()
    )


def on_select() -> None:
    sid = board.trigger("select")
    if isinstance(sid, str) and len(sid) <= 64:
        st.session_state["selected-sid"] = sid


def on_refresh() -> None:
    """The browser saw a change that something drawn here depends on (or needs a ticket)."""
    value = board.trigger("refresh")
    if not isinstance(value, dict):
        return
    state = st.session_state
    if value.get("reason") == "ticket" and value.get("ticket") == state.get("board-ticket"):
        state["board-new-ticket"] = True
    at = value.get("at")
    if isinstance(at, int | float) and 0 <= at <= now_ms() + 60_000:
        state["board-at"] = int(at)


def live_part(page: ui.Page) -> None:
    """What Streamlit draws of the live floor: help, your own call, the chosen call's
    controls, and the board component. No timer: it reruns when the component asks."""
    ui.still_signed_in(page)
    state = st.session_state
    if state.pop("board-new-ticket", False) or "board-url" not in state:
        new_stream(page)
    try:
        snapshot = page.runtime.floor_since(
            int(state.pop("board-at", 0)), page.settings.dashboard_refresh_seconds / 2
        )
        # Words (a phrase alert's phrase) only of the calls this supervisor may listen to.
        conferences = words.all_for_scope(snapshot.conferences, ui.words_scope(page))
    except Unavailable as exc:
        st.error(
            _("{reason}. The floor shows again as soon as it answers.").format(reason=literal(exc)),
            icon=":material/warning:",
        )
        conferences = []
    by_sid = {str(c["sid"]): c for c in conferences}
    asking, said = cues_module.floor_cues(page, conferences)
    help_banner(page, asking)
    phrase_banner(page, said)
    listen.player(page, by_sid)
    mine = monitors_by_supervisor(conferences).get(page.who.id)
    controls(page, by_sid, mine["sid"] if mine else None)
    selected = state.get("selected-sid")
    chosen = by_sid.get(selected) if selected else None
    # What the chosen call's buttons depend on, which the browser compares ("gone": it left).
    chosen_key = control_key(row(chosen, time.time(), True)) if chosen else "gone"
    board.show(
        url=state.get("board-url", ""),
        ticket=state.get("board-ticket", ""),
        me_key=f"{mine['sid']}|{mine['mode']}|{mine['status']}" if mine else "",
        help_key=help_key(cues(conferences)),
        selected={"sid": selected, "key": chosen_key} if selected else None,
        on_select=on_select,
        on_refresh=on_refresh,
        clock=board.place(page),
        hidden=[c for c in preferences.COLUMNS if c not in (state.get("f-cols") or ())],
        refresh_seconds=page.settings.dashboard_refresh_seconds,
        supervisors=reading.supervisor_names(page),
    )


def chart_part(page: ui.Page) -> None:
    until = now_ms()
    since = until - CHART_MINUTES * 60_000
    try:
        samples = page.runtime.run(history.samples(page.runtime.services.floor, since))
    except Unavailable:
        return  # the live part above already says Redis is down
    try:
        # The last point is now, so even a fresh floor (one sample) draws a line.
        current = summarize(page.runtime.floor(CHART_REFRESH_SECONDS).conferences, time.time())
    except Unavailable:
        return
    points = [*((s.at_ms, s.by_team) for s in samples), (until, current.by_team)]
    st.subheader(_("Live calls, last hour, by team"))
    zone = page.settings.timezone
    chart = history_chart(points, (since, until), zone, reading.zone_named(page))
    if chart is None:
        st.caption(
            _("No samples yet: the callback service records one every {seconds} s.").format(
                seconds=history.BUCKET_SECONDS
            )
        )
        return
    st.altair_chart(chart, width="stretch")


def floor_time(at_ms: int, zone: str) -> pd.Timestamp:
    """The floor's wall clock, without a zone: the browser draws a zone-less time as it is
    written, so a Tokyo floor reads 10:23 whatever zone the supervisor's machine is in."""
    return pd.Timestamp(at_ms, unit="ms", tz="UTC").tz_convert(zone).tz_localize(None)


def history_chart(
    points: list[tuple[int, dict[str, int]]], hour: tuple[int, int], zone: str, title: str
) -> alt.Chart | None:
    """Live calls by team at each of `points` (ms, calls by team), over the whole `hour`
    [since, until] (ms): a floor that began minutes ago draws at the right of an hour, with
    a label every few minutes, not the same minute under each of its samples (a trial found
    12:39 12:39 12:39 along the axis). None when there is nothing to draw."""
    # Every team at every point (0 where it had none), so each draws a whole area.
    teams = sorted({team for _, by_team in points for team in by_team})
    # Calls of no team are counted under NO_TEAM, an English name: said in the page's language.
    named = {team: f"({_('no team')})" if team == NO_TEAM else team for team in teams}
    rows = [
        {"time": floor_time(at, zone), "team": named[team], "calls": by_team.get(team, 0)}
        for at, by_team in points
        for team in teams
    ]
    if not rows:
        return None
    domain = [floor_time(at, zone).isoformat() for at in hour]
    chart: alt.Chart = (
        alt.Chart(pd.DataFrame(rows))
        .mark_area(interpolate="monotone", opacity=0.8)
        .encode(
            x=alt.X(
                "time:T",
                title=title,
                scale=alt.Scale(domain=domain),
                # Ticks a minute apart at least: the labels say minutes.
                axis=alt.Axis(format="%H:%M", tickMinStep=60_000),
            ),
            y=alt.Y("sum(calls):Q", title=_("live calls"), stack=True),
            color=alt.Color("team:N", title=_("Team")),
            tooltip=["time:T", "team:N", "calls:Q"],
        )
        .properties(height=220)
    )
    return chart


def main() -> None:
    page = ui.current()
    load_board_prefs(page)
    remember_filters()
    filters_sidebar(page)
    follow_sidebar(page)
    st.title(_("Floor"))
    # A full run (the page opened, a filter changed) starts a stream for the current
    # filters; the live part's own reruns keep the one the browser has.
    new_stream(page)
    st.fragment(live_part)(page)
    st.fragment(run_every=CHART_REFRESH_SECONDS)(chart_part)(page)


if __name__ == "__main__":
    main()
