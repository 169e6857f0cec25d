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

from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlencode

import pandas as pd
import streamlit as st

from access.modes import refusal
from archive.review_export import reviews_csv
from archive.store import Review, ReviewSearch, Search
from core import tickets
from core.floor_clock import FloorClock
from dashboard import reading, ui
from dashboard.runtime import Unavailable
from dashboard.text import highlighted, literal
from live.attention import clock

PAGE = 50
ALERTS = ("", "help", "phrase", "customer-alone", "agent-alone", "long-hold", "dead-air",
          "long-wait", "overtalk", "long-call", "duplicate")  # fmt: skip


def teams_of(page: ui.Page) -> tuple[str, ...] | None:
    return page.who.teams if page.who.role == "lead" else None


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
    today = st.toggle(f"Today on the floor ({floor.today().isoformat()}, {floor.zone_label()})",
                      key="h-today")  # fmt: skip
    row1 = st.columns(4)
    since = row1[0].date_input("From", value=None, key="h-from", disabled=today)
    until = row1[1].date_input("To", value=None, key="h-to", disabled=today)
    if today:
        since = until = floor.today()
    team = row1[2].selectbox("Team", ["", *teams], key="h-team")
    queues = sorted({roster.teams[t].queue for t in teams if t in roster.teams})
    queue = row1[3].selectbox("Queue", ["", *queues], key="h-queue")
    row2 = st.columns(4)
    agents = reading.agents_in_order(
        page, [a for a in roster.agents if mine is None or roster.team_of_agent.get(a) in mine]
    )
    agent = row2[0].selectbox("Agent", ["", *agents], key="h-agent",
                              format_func=lambda a: reading.agent(page, a))  # fmt: skip
    alert = row2[1].selectbox("Alert raised", ALERTS, key="h-alert")
    monitored = row2[2].selectbox("Monitored", ["", "yes", "no"], key="h-monitored")
    longer = row2[3].number_input("At least (minutes)", min_value=0, value=0, key="h-min")
    words = st.text_input("Words said on the call", key="h-q", max_chars=200,
                          placeholder="cancel my account")  # fmt: skip
    return Search(
        since_ms=day_ms(since, floor=floor), until_ms=day_ms(until, end=True, floor=floor),
        team=team or None,
        queue=queue or None, agent=agent or None, q=words.strip() or None, alert=alert or None,
        monitored={"yes": True, "no": False}.get(monitored), min_seconds=int(longer) * 60 or None,
        teams=mine, limit=PAGE,
    )  # fmt: skip


def results_table(calls: list[dict[str, Any]], page: ui.Page) -> pd.DataFrame:
    rows = [{
        "Ended": reading.when(page, c.get("ended_at")),
        "Agent": reading.agent(page, c.get("agent")) or "—", "Team": c.get("team") or "",
        "Queue": c.get("queue") or "", "Customer": reading.number(page, c.get("customer")),
        "Length": clock(c.get("duration_seconds") or 0), "Alerts": ", ".join(c.get("alerts") or ()),
        "Listened": ", ".join(c.get("supervisors") or ()), "Transcript": c.get("has_transcript"),
        "Recordings": c.get("recordings"), "Reviewed": c.get("reviewed"), "SID": c.get("sid"),
    } for c in calls]  # fmt: skip
    return pd.DataFrame(rows)


def recording_url(page: ui.Page, sid: str, recording_sid: str) -> str | None:
    """Where the browser's player fetches a recording: the callback service, with a one-time
    ticket of that recording for the signed-in supervisor (callbacks/recording_media.py:
    checked, audited, Range for seeking). Never a URL that plays for whoever holds it."""
    rt = page.runtime
    holder = tickets.Holder("supervisor", page.who.id, page.session,
                            stream=tickets.recording_stream(recording_sid))  # fmt: skip
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
        st.warning(f"No ended call {literal(sid)} you may open is in the archive.")
        return
    st.subheader(f"{literal(reading.agent(page, call.get('agent')) or 'No agent')} · "
                 f"{literal(call.get('team') or '—')}"
                 f" · ended {literal(reading.when(page, call.get('ended_at')))}")  # fmt: skip
    share = call.get("talk_share") or {}
    raised = ", ".join(call.get("alerts") or ()) or "none"
    st.caption(
        f"Customer {literal(reading.number(page, call.get('customer')) or 'unknown')} · "
        f"{clock(call.get('duration_seconds') or 0)} long · {call.get('holds') or 0} hold(s), "
        f"{clock(call.get('hold_seconds') or 0)} on hold · agent talk "
        f"{share.get('agent', 0):.0%} · alerts: {literal(raised)}"
    )
    # The review beside what it is about (issue 28: the form was three screens down).
    listen, review = st.columns([3, 2], gap="large")
    with listen:
        heard(page, sid, call)
    with review:
        reviews(page, call)


def offset_of(call: dict[str, Any], at: str | None) -> int:
    """Seconds from the start of the call to `at`: where a transcript line is in the call's
    recording. The recording starts as the call does (Earpiece records from the start,
    live/recordings.py; a pause for a card number is not cut out of Twilio's file)."""
    if not at or not call.get("started_at"):
        return 0
    start = datetime.fromisoformat(str(call["started_at"]).replace("Z", "+00:00"))
    return max(0, int((datetime.fromisoformat(at.replace("Z", "+00:00")) - start).total_seconds()))


def heard(page: ui.Page, sid: str, call: dict[str, Any]) -> None:
    """The recordings, the transcript in a box of its own, who listened and the timeline."""
    playing = st.session_state.get(f"h-play-{sid}")  # (recording sid, start second)
    recordings = list(call.get("recordings") or ())
    for n, rec in enumerate(recordings):
        label = f"Recording {n + 1} ({rec.get('status')}, {rec.get('duration') or '?'} s)"
        if st.button(f"Play {label}", key=f"play-{rec.get('sid')}", icon=":material/play_arrow:"):
            playing = st.session_state[f"h-play-{sid}"] = (str(rec.get("sid")), 0)
        if playing and playing[0] == rec.get("sid"):
            url = recording_url(page, sid, str(rec.get("sid")))
            if url is None:
                st.error("Redis is unreachable: try again in a moment.", icon=":material/warning:")
            else:
                st.audio(url, format="audio/wav", start_time=int(playing[1]), autoplay=True)
    st.markdown("**Who listened**")
    monitors = call.get("monitors") or []
    st.dataframe(pd.DataFrame([{"Supervisor": m["supervisor"], "Mode": m["mode"],
                                "From": reading.when(page, m["from"]),
                                "Until": reading.when(page, m["until"])} for m in monitors],
                              columns=["Supervisor", "Mode", "From", "Until"]),
                 hide_index=True)  # fmt: skip
    st.markdown("**Transcript**")
    lines = call.get("transcript") or []
    if not lines:
        st.caption("Not transcribed.")
    else:
        # A box of its own that scrolls (issue 28: ~80 unboxed lines pushed all else down).
        # The search's words marked in each line; a line's time plays the recording there.
        words = str(st.session_state.get("h-q") or "").split()
        playable = next((r for r in recordings if r.get("status") == "completed"), None)
        with st.container(height=360, border=True, key=f"h-transcript-{sid}"):
            for n, line in enumerate(lines):
                at = offset_of(call, line.get("at"))
                said = (f"**{literal(line.get('speaker'))}** "
                        f"{highlighted(line.get('text') or '', words)}")  # fmt: skip
                if playable is None:
                    st.markdown(f"`{clock(at)}` {said}")
                    continue
                when, what = st.columns([1, 6], vertical_alignment="center")
                if when.button(clock(at), key=f"seek-{sid}-{n}", type="tertiary",
                               icon=":material/play_arrow:",
                               help="Play the recording from here"):  # fmt: skip
                    st.session_state[f"h-play-{sid}"] = (str(playable.get("sid")), at)
                    st.rerun()
                what.markdown(said)
    st.markdown("**Timeline**")
    st.caption(f"Times in {page.settings.timezone} ({reading.clock(page).zone_label()}).")
    st.dataframe(pd.DataFrame([{"At": reading.when(page, e.get("at")), "What": e.get("text")}
                               for e in call.get("timeline") or ()], columns=["At", "What"]),
                 hide_index=True)  # fmt: skip


# A criterion is marked pass, fail or N/A (issue 28: unchecked was saved as fail); stored
# as true, false and null (the API's criteria).
MARKS = {"Pass": True, "Fail": False, "N/A": None}
MARK_NAMES = {True: "Pass", False: "Fail", None: "N/A"}


def reviews(page: ui.Page, call: dict[str, Any]) -> None:
    """The call's reviews, and the signed-in supervisor's own as a form: empty the first time,
    their review to edit after (one review per reviewer per call; saving again edits it)."""
    rt = page.runtime
    sid = call["sid"]
    st.markdown("**Reviews**")
    ui.show_flash(place=f"review-{sid}")  # the outcome where the eye is: at the form
    done = rt.run(rt.services.store.reviews(ReviewSearch(sid=sid)))
    for r in done:
        given = ", ".join(f"{k}: {MARK_NAMES.get(v, 'N/A')}" for k, v in r["criteria"].items())
        st.text(f"{reading.when(page, r['at'])} · {r['reviewer']} · score {r['score']:g} · "
                f"{given}\n{r['notes']}")  # fmt: skip
    reason = refusal(page.who, "listen", call.get("team"))
    if reason is not None:
        st.caption(literal(reason))
        return
    team = rt.roster.teams.get(call.get("team") or "")
    mine = next((r for r in done if r["reviewer"] == page.who.id), None)
    before: dict[str, Any] = dict(mine["criteria"]) if mine else {}
    # Keyed by the review's version, so an edit opens on what was saved.
    version = f"{sid}-{mine['at'] if mine else 'new'}"
    with st.form(f"review-{sid}", border=True):
        st.markdown("**Edit your review**" if mine else "**Your review**")
        score = st.slider("Score", 0, 100, int(mine["score"]) if mine else 80,
                          key=f"score-{version}")  # fmt: skip
        criteria = team.review if team else ()
        marks = {
            c: MARKS[st.radio(literal(c), list(MARKS), horizontal=True, key=f"crit-{version}-{c}",
                              index=list(MARKS).index(MARK_NAMES.get(before.get(c), "N/A")))]
            for c in criteria
        }  # fmt: skip
        notes = st.text_area("Notes", value=mine["notes"] if mine else "", max_chars=2000,
                             key=f"notes-{version}")  # fmt: skip
        label = "Save changes" if mine else "Save review"
        if st.form_submit_button(label, icon=":material/rate_review:", type="primary"):
            review = Review(sid=sid, reviewer=page.who.id, score=float(score),
                            notes=notes, criteria=marks, agent=call.get("agent"),
                            team=call.get("team"))  # fmt: skip
            rt.run(rt.services.store.add_review(review))
            rt.run(rt.services.audit.record("review", page.who.id, sid,
                                            agent=call.get("agent") or "",
                                            detail=f"score {score}"))  # fmt: skip
            ui.flash("success", "Review changed" if mine else "Review saved",
                     place=f"review-{sid}")  # fmt: skip
            st.rerun()


def export_button(page: ui.Page, where: Any) -> None:
    """One click: the CSV is made (and the export audited) when the button is pressed, and
    named for what it holds (issue 28: two clicks, and "my teams" said to a manager)."""
    teams = teams_of(page)
    holds = "all teams" if teams is None else ", ".join(teams) or "no team"
    rt, who = page.runtime, page.who

    def make() -> str:
        rows = rt.run(rt.services.store.reviews(ReviewSearch(teams=teams)))
        rt.run(rt.services.audit.record("export", who.id, "",
                                        detail=f"reviews.csv, {len(rows)} reviews"))  # fmt: skip
        return reviews_csv(rows)

    name = "all-teams" if teams is None else "-".join(teams) or "none"
    where.download_button(f"Export reviews of {holds} (CSV)", make, mime="text/csv",
                          file_name=f"earpiece-reviews-{name}.csv", key="h-export",
                          icon=":material/download:")  # fmt: skip


def main() -> None:
    page = ui.current()
    st.title("Calls")
    ui.show_flash()
    search = filters(page)
    cursor = st.session_state.get("h-cursor")
    try:
        calls, following = page.runtime.run(page.runtime.services.store.search(
            Search(**{**search.__dict__, "cursor": cursor})))  # fmt: skip
    except Unavailable as exc:
        st.error(literal(exc), icon=":material/warning:")
        return
    st.caption(f"{len(calls)} ended call(s), newest first"
               + (" (more on the next page)" if following else "") + ".")  # fmt: skip
    picked = st.dataframe(results_table(calls, page),
                          hide_index=True, on_select="rerun", selection_mode="single-row",
                          key="h-results")  # fmt: skip
    nav = st.columns(3)
    if following and nav[0].button("Older calls →", key="h-next"):
        st.session_state["h-cursor"] = following
        st.rerun()
    if cursor and nav[1].button("← Newest", key="h-first"):
        st.session_state.pop("h-cursor", None)
        st.rerun()
    export_button(page, nav[2])
    chosen_rows = picked.selection.rows if picked is not None else []
    chosen = st.query_params.get("sid") or (calls[chosen_rows[0]]["sid"] if chosen_rows else None)
    if chosen:
        one_call(page, str(chosen))


if __name__ == "__main__":
    main()
