"""QA after the call: search the archive of ended calls, open one, hear it, review it.

Filters as `GET /api/history` takes them (archive/store.py Search), with the same
rules: a lead finds their own teams' calls, managers and QA every team's;
customers' numbers are masked as on the floor. A call opens below the results:
its people and timeline, who listened and how, the transcript, the recording
(the browser's player fetches it from the callback service with a one-time ticket of
that recording for the signed-in supervisor, which Earpiece streams from Twilio: the
browser never sees Twilio's credentials, and the URL plays for nobody else), its
reviews and a review form with the team's criteria.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

import pandas as pd
import streamlit as st

from access.modes import refusal
from access.policy import own_teams
from archive import playback
from archive.store import ReviewSearch, Search
from core import tickets
from core.floor_clock import FloorClock
from core.times import ms_of
from dashboard import i18n, reading, ui, word_reads, words
from dashboard.actions import Refused
from dashboard.i18n import N_, _, ngettext
from dashboard.runtime import Unavailable
from dashboard.text import highlighted, literal
from live.attention import CALL_ALERTS, clock

PAGE = 50
ALERTS = ("", *CALL_ALERTS)


def teams_of(page: ui.Page) -> tuple[str, ...] | None:
    return own_teams(page.who.role, page.who.teams)


def day_ms(day: date | None, end: bool = False, floor: FloorClock | None = None) -> int | None:
    """A day's first (or last) millisecond on the floor: its midnight in EARPIECE_TIMEZONE,
    not UTC's (a Tokyo floor's day starts at 15:00 UTC the day before)."""
    if day is None:
        return None
    floor = floor or FloorClock()
    return floor.day_end_ms(day) if end else floor.day_start_ms(day)


def filters(page: ui.Page) -> Search:
    roster = page.runtime.roster
    mine = teams_of(page)
    teams = sorted(mine if mine is not None else roster.teams)
    floor = reading.clock(page)
    today = st.toggle(
        _("Today on the floor ({day}, {zone})").format(
            day=floor.today().isoformat(), zone=floor.zone_label()
        ),
        key="h-today",
    )
    row1 = st.columns(4)
    since = row1[0].date_input(_("From"), value=None, key="h-from", disabled=today)
    until = row1[1].date_input(_("To"), value=None, key="h-to", disabled=today)
    if today:
        since = until = floor.today()
    team = row1[2].selectbox(_("Team"), ["", *teams], key="h-team", placeholder=_("Any"))
    queues = sorted({roster.teams[t].queue for t in teams if t in roster.teams})
    queue = row1[3].selectbox(_("Queue"), ["", *queues], key="h-queue", placeholder=_("Any"))
    row2 = st.columns(4)
    agents = reading.agents_in_order(
        page, [a for a in roster.agents if mine is None or roster.team_of_agent.get(a) in mine]
    )
    agent = row2[0].selectbox(
        _("Agent"),
        ["", *agents],
        key="h-agent",
        format_func=lambda a: reading.agent(page, a),
        placeholder=_("Any"),
    )
    alert = row2[1].selectbox(
        _("Alert raised"),
        ALERTS,
        key="h-alert",
        placeholder=_("Any"),
        format_func=i18n.bound(lambda a: words.word(words.ALERTS, a)),
    )
    monitored = row2[2].selectbox(
        _("Monitored"),
        ["", "yes", "no"],
        key="h-monitored",
        placeholder=_("Any"),
        format_func=i18n.bound(lambda m: words.word(YES_NO, m)),
    )
    longer = row2[3].number_input(_("At least (minutes)"), min_value=0, value=0, key="h-min")
    said = st.text_input(
        _("Words said on the call"), key="h-q", max_chars=200, placeholder=_("cancel my account")
    )
    return Search(
        since_ms=day_ms(since, floor=floor),
        until_ms=day_ms(until, end=True, floor=floor),
        team=team or None,
        queue=queue or None,
        agent=agent or None,
        q=said.strip() or None,
        alert=alert or None,
        monitored={"yes": True, "no": False}.get(monitored),
        min_seconds=int(longer) * 60 or None,
        teams=mine,
        limit=PAGE,
    )


RESULTS = (
    N_("Ended"),
    N_("Agent"),
    N_("Team"),
    N_("Queue"),
    N_("Customer"),
    N_("Length"),
    N_("Alerts"),
    N_("Listened"),
    N_("Transcript"),
    N_("Recordings"),
    N_("Reviewed"),
    N_("SID"),
)
YES_NO = {"yes": N_("yes"), "no": N_("no")}


def results_table(calls: list[dict[str, Any]], page: ui.Page) -> pd.DataFrame:
    # One tuple a call, in RESULTS' order (pandas refuses a row of another length).
    rows = [
        (
            reading.when(page, c.get("ended_at")),
            reading.agent(page, c.get("agent")) or "—",
            c.get("team") or "",
            c.get("queue") or "",
            reading.number(page, c.get("customer")),
            clock(c.get("duration_seconds") or 0),
            words.alerts(c.get("alerts")),
            ", ".join(c.get("supervisors") or ()),
            c.get("has_transcript"),
            c.get("recordings"),
            c.get("reviewed"),
            c.get("sid"),
        )
        for c in calls
    ]
    return pd.DataFrame(rows, columns=list(RESULTS)).rename(columns=_)


def recording_url(page: ui.Page, sid: str, recording_sid: str) -> str | None:
    """Where the browser's player fetches a recording: the callback service, with a one-time
    ticket of that recording for the signed-in supervisor (callbacks/recording_media.py:
    checked, audited, Range for seeking). Never a URL that plays for whoever holds it."""
    rt = page.runtime
    holder = tickets.Holder(
        "supervisor", page.who.id, page.session, stream=tickets.recording_stream(recording_sid)
    )
    try:
        issued = rt.run(tickets.issue(rt.services.redis, page.settings.namespace, holder))
    except Unavailable:
        return None
    path = f"/api/history/{quote(sid)}/recordings/{quote(recording_sid)}"
    return f"{page.settings.board_feed_url}{path}?{urlencode({'ticket': issued.ticket})}"


def one_call(page: ui.Page, sid: str) -> None:
    rt = page.runtime
    store = rt.services.store
    call = rt.run(store.get(sid))
    mine = teams_of(page)
    if call is None or (mine is not None and call.get("team") not in mine):
        st.warning(
            _("No ended call {sid} you may open is in the archive.").format(sid=literal(sid))
        )
        return
    word_reads.call_opened(page, call)  # its transcript is shown below
    st.subheader(
        _("{agent} · {team} · ended {time}").format(
            agent=literal(reading.agent(page, call.get("agent")) or _("No agent")),
            team=literal(call.get("team") or "—"),
            time=literal(reading.when(page, call.get("ended_at"))),
        )
    )
    share = call.get("talk_share") or {}
    raised = words.alerts(call.get("alerts"), _("none"))
    holds = int(call.get("holds") or 0)
    st.caption(
        ngettext(
            "Customer {number} · {length} long · {n} hold, {held} on hold · agent talk "
            "{talk} · alerts: {alerts}",
            "Customer {number} · {length} long · {n} holds, {held} on hold · agent talk "
            "{talk} · alerts: {alerts}",
            holds,
        ).format(
            number=literal(reading.number(page, call.get("customer")) or _("unknown")),
            length=clock(call.get("duration_seconds") or 0),
            n=holds,
            held=clock(call.get("hold_seconds") or 0),
            talk=f"{share.get('agent', 0):.0%}",
            alerts=literal(raised),
        )
    )
    # The review beside what it is about (issue 28: the form was three screens down).
    listen, review = st.columns([3, 2], gap="large")
    with listen:
        heard(page, sid, call)
    with review:
        reviews(page, call)


def since_start(call: dict[str, Any], at: str | None) -> int:
    """Seconds from the start of the call to `at`: a transcript line's time as shown. Where
    it is in the recording is another matter (archive/playback.py: the recording starts
    when an agent is with the customer, and a payment's pause is not in its file)."""
    if not at or not call.get("started_at"):
        return 0
    return max(0, int((ms_of(at) - ms_of(str(call["started_at"]))) / 1000))


def heard(page: ui.Page, sid: str, call: dict[str, Any]) -> None:
    """The recordings, the transcript in a box of its own, who listened and the timeline."""
    playing = st.session_state.get(f"h-play-{sid}")  # (recording sid, start second)
    recordings = list(call.get("recordings") or ())
    for n, rec in enumerate(recordings):
        label = _("Play Recording {n} ({status}, {seconds} s)").format(
            n=n + 1,
            status=words.word(RECORDING_STATUS, rec.get("status")),
            seconds=rec.get("duration") or "?",
        )
        if st.button(label, key=f"play-{rec.get('sid')}", icon=":material/play_arrow:"):
            playing = st.session_state[f"h-play-{sid}"] = (str(rec.get("sid")), 0)
        if playing and playing[0] == rec.get("sid"):
            url = recording_url(page, sid, str(rec.get("sid")))
            if url is None:
                st.error(
                    _("Redis is unreachable: try again in a moment."), icon=":material/warning:"
                )
            else:
                st.audio(url, format="audio/wav", start_time=int(playing[1]), autoplay=True)
    st.markdown(_("**Who listened**"))
    monitors = call.get("monitors") or []
    heads = [_("Supervisor"), _("Mode"), _("From"), _("Until")]
    listened = [
        (
            reading.supervisor(page, m["supervisor"]),
            _("{mode} (browser)").format(mode=words.word(words.MODES, m["mode"]))
            if m.get("how") == "browser"
            else words.word(words.MODES, m["mode"]),
            reading.when(page, m["from"]),
            reading.when(page, m["until"]),
        )
        for m in monitors
    ]
    if listened:
        st.dataframe(pd.DataFrame(listened, columns=heads), hide_index=True)
    else:  # (an empty table says "empty", in English, whatever the page's language)
        st.caption(_("Nobody listened to this call."))
    st.markdown(_("**Transcript**"))
    lines = call.get("transcript") or []
    if not lines:
        st.caption(_("Not transcribed."))
    else:
        # A box of its own that scrolls (issue 28: ~80 unboxed lines pushed all else down).
        # The search's words marked in each line; a line's time plays the recording there.
        search = str(st.session_state.get("h-q") or "").split()
        playable = next((r for r in recordings if r.get("status") == "completed"), None)
        with st.container(height=360, border=True, key=f"h-transcript-{sid}"):
            for n, line in enumerate(lines):
                at = since_start(call, line.get("at"))
                said = (
                    f"**{literal(words.word(words.ROLES, line.get('speaker')))}** "
                    f"{highlighted(words.said(line.get('text') or ''), search)}"
                )
                if playable is None:
                    st.markdown(f"`{clock(at)}` {said}")
                    continue
                when, what = st.columns([1, 6], vertical_alignment="center")
                if when.button(
                    clock(at),
                    key=f"seek-{sid}-{n}",
                    type="tertiary",
                    icon=":material/play_arrow:",
                    help=_("Play the recording from here"),
                ):
                    where = playback.offset(playable, line.get("at"), call.get("started_at"))
                    st.session_state[f"h-play-{sid}"] = (str(playable.get("sid")), where)
                    st.rerun()
                what.markdown(said)
    st.markdown(_("**Timeline**"))
    st.caption(_("Times in {zone}.").format(zone=reading.zone_named(page)))
    named_agent, named_supervisor = reading.namers(page)
    timeline = [
        (
            reading.when(page, e.get("at")),
            words.timeline(
                str(e.get("event") or ""),
                e.get("who"),
                str(e.get("text") or ""),
                agent=named_agent,
                supervisor=named_supervisor,
            ),
        )
        for e in call.get("timeline") or ()
    ]
    st.dataframe(pd.DataFrame(timeline, columns=[_("At"), _("What")]), hide_index=True)


# A criterion is marked pass, fail or N/A (issue 28: unchecked was saved as fail); stored
# as true, false and null (the API's criteria).
MARKS = {"Pass": True, "Fail": False, "N/A": None}
MARK_NAMES = {True: "Pass", False: "Fail", None: "N/A"}
MARK_WORDS = {"Pass": N_("Pass"), "Fail": N_("Fail"), "N/A": N_("N/A")}
# Twilio's Recording statuses (its REST API's `status`), as the archive keeps them.
RECORDING_STATUS = {
    "completed": N_("completed"),
    "processing": N_("processing"),
    "in-progress": N_("in progress"),
    "absent": N_("absent"),
    "failed": N_("failed"),
    "deleted": N_("deleted"),
}


def reviews(page: ui.Page, call: dict[str, Any]) -> None:
    """The call's reviews, and the signed-in supervisor's own as a form: empty the first time,
    their review to edit after (one review per reviewer per call; saving again edits it)."""
    rt = page.runtime
    sid = call["sid"]
    st.markdown(_("**Reviews**"))
    ui.show_flash(place=f"review-{sid}")  # the outcome where the eye is: at the form
    done = rt.run(rt.services.store.reviews(ReviewSearch(sid=sid)))
    for r in done:
        given = ", ".join(
            f"{k}: {_(MARK_WORDS[MARK_NAMES.get(v, 'N/A')])}" for k, v in r["criteria"].items()
        )
        st.text(
            _("{time} · {reviewer} · score {score} · {marks}").format(
                time=reading.when(page, r["at"]),
                reviewer=reading.supervisor(page, r["reviewer"]),
                score=f"{r['score']:g}",
                marks=given,
            )
            + f"\n{r['notes']}"
        )
    reason = words.mode_refusal(
        page.who, "listen", call.get("team"), refusal(page.who, "listen", call.get("team"))
    )
    if reason is not None:
        st.caption(literal(reason))
        return
    team = rt.roster.teams.get(call.get("team") or "")
    mine = next((r for r in done if r["reviewer"] == page.who.id), None)
    before: dict[str, Any] = dict(mine["criteria"]) if mine else {}
    # Keyed by the review's version, so an edit opens on what was saved.
    version = f"{sid}-{mine['at'] if mine else 'new'}"
    with st.form(f"review-{sid}", border=True):
        st.markdown(_("**Edit your review**") if mine else _("**Your review**"))
        # A new review has no score until the reviewer gives one: a slider started at 80,
        # so a form saved untouched recorded 80 as if the call had been scored (a trial).
        # An edit shows the saved score as it is, a fraction too (72.5 was once cut to 72).
        score = st.number_input(
            _("Score (0 to 100)"),
            min_value=0.0,
            max_value=100.0,
            value=float(mine["score"]) if mine else None,
            step=1.0,
            format="%g",
            placeholder=_("required"),
            key=f"score-{version}",
        )
        criteria = team.review if team else ()
        marks = {
            c: MARKS[
                st.radio(
                    literal(c),
                    list(MARKS),
                    horizontal=True,
                    key=f"crit-{version}-{c}",
                    index=list(MARKS).index(MARK_NAMES.get(before.get(c), "N/A")),
                    format_func=i18n.bound(lambda m: _(MARK_WORDS[m])),
                )
            ]
            for c in criteria
        }
        notes = st.text_area(
            _("Notes"), value=mine["notes"] if mine else "", max_chars=2000, key=f"notes-{version}"
        )
        label = _("Save changes") if mine else _("Save review")
        if st.form_submit_button(label, icon=":material/rate_review:", type="primary"):
            if score is None:
                unscored = _("Give the call a score (0 to 100) first.")
                ui.flash("error", unscored, place=f"review-{sid}")
                st.rerun()
            # Through the API, as the reviewer (its rule: who may listen; its audit).
            try:
                page.acting.review(sid, float(score), notes, marks)
            except Refused as exc:
                ui.flash("error", words.error(exc.code, exc.message), place=f"review-{sid}")
            else:
                ui.flash(
                    "success",
                    _("Review changed") if mine else _("Review saved"),
                    place=f"review-{sid}",
                )
            st.rerun()


def export_button(page: ui.Page, where: Any) -> None:
    """One click: the CSV is made (and the export audited) when the button is pressed, and
    named for what it holds (issue 28: two clicks, and "my teams" said to a manager)."""
    teams = teams_of(page)
    holds = _("all teams") if teams is None else ", ".join(teams) or _("no team")

    def make() -> str:
        # The API's export (its rule of whose reviews, its audit, the floor's clock).
        try:
            return for_spreadsheets(page.acting.reviews_csv())
        except Refused as exc:
            ui.flash("error", words.error(exc.code, exc.message))
            return ""

    name = "all-teams" if teams is None else "-".join(teams) or "none"
    where.download_button(
        _("Export reviews of {teams} (CSV)").format(teams=holds),
        make,
        mime="text/csv",
        file_name=f"earpiece-reviews-{name}.csv",
        key="h-export",
        icon=":material/download:",
    )


def for_spreadsheets(csv: str) -> str:
    """The API's CSV as a person's download: with UTF-8's byte order mark, without which
    Excel on a Japanese Windows reads a file as Shift_JIS and its Japanese as nonsense (a QA
    trial's concern). The API's own export stays without it, for programs."""
    return csv if not csv or csv.startswith("\ufeff") else "\ufeff" + csv


def asked_by(search: Search) -> str:
    """What a search asks, for telling it from another (its page of older calls aside)."""
    return repr(sorted((k, v) for k, v in search.__dict__.items() if k != "cursor"))


def cursor_of(search: Search, kept: object) -> Any:
    """The page of older calls to show: the one kept, when the very same search found it.
    Another filter starts at the newest again (a trial set a team after paging, and the
    three newest calls of that team were left out with nothing saying so)."""
    if isinstance(kept, tuple) and len(kept) == 2 and kept[0] == asked_by(search):
        return kept[1]
    return None


def main() -> None:
    page = ui.current()
    st.title(_("Calls"))
    ui.show_flash()
    search = filters(page)
    cursor = cursor_of(search, st.session_state.get("h-cursor"))
    try:
        calls, following = page.runtime.run(
            page.runtime.services.store.search(Search(**{**search.__dict__, "cursor": cursor}))
        )
    except Unavailable as exc:
        st.error(literal(exc), icon=":material/warning:")
        return
    word_reads.searched(page, search.q, search.teams)
    count = len(calls)
    shown = ngettext("{n} ended call, newest first", "{n} ended calls, newest first", count)
    st.caption(
        shown.format(n=count) + (_(" (more on the next page)") if following else "") + _(".")
    )
    picked = st.dataframe(
        results_table(calls, page),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="h-results",
    )
    nav = st.columns(3)
    if following and nav[0].button(_("Older calls →"), key="h-next"):
        st.session_state["h-cursor"] = (asked_by(search), following)
        st.rerun()
    if cursor and nav[1].button(_("← Newest"), key="h-first"):
        st.session_state.pop("h-cursor", None)
        st.rerun()
    export_button(page, nav[2])
    chosen_rows = picked.selection.rows if picked is not None else []
    chosen = st.query_params.get("sid") or (calls[chosen_rows[0]]["sid"] if chosen_rows else None)
    if chosen:
        one_call(page, str(chosen))


if __name__ == "__main__":
    main()
