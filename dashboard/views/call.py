"""One call: who is on it with their flags, what happened so far, and the
supervisor's own leg — with its mode buttons and the microphone banner."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import streamlit as st

from access.modes import refusal
from access.policy import may_see_audit_entry
from access.principal import of_supervisor
from coach.actions import MAX_CARD_CHARS
from core.audit import AuditFilter
from dashboard import board, listen, reading, transcript, ui, words
from dashboard.i18n import N_, _
from dashboard.runtime import Unavailable
from dashboard.text import literal
from live.attention import clock, seconds_since
from live.board import customer_number

AUDIT_ON_CALL_LIMIT = 200
# The page reruns when its call changes; this tick only moves its clocks on.
CLOCK_TICK_SECONDS = 5.0


PEOPLE = (
    N_("Who"),
    N_("Role"),
    N_("Number"),
    N_("Muted"),
    N_("On hold"),
    N_("Coaching"),
    N_("Speaking"),
    N_("Joined"),
    N_("Call SID"),
)


def participants(conference: dict[str, Any], page: ui.Page) -> pd.DataFrame:
    # One tuple a leg, in PEOPLE's order (pandas refuses a row of another length).
    rows = [
        (
            words.who(p.get("label"), lambda i: reading.agent(page, i))
            if p.get("label")
            else p.get("call_sid"),
            words.word(words.ROLES, p.get("role")),
            reading.number(page, p.get("number")),
            bool(p.get("muted")),
            bool(p.get("hold")),
            bool(p.get("coaching")),
            bool(p.get("speaking")),
            reading.time_of_day(page, p.get("joined_at")),
            p.get("call_sid"),
        )
        for p in conference.get("participants") or ()
    ]
    return pd.DataFrame(rows, columns=list(PEOPLE)).rename(columns=_)


# What an agent did on the call (the softphone's help button): the audit keeps the agent in
# a field of its own and an English sentence for its log ("tara asks for help"), which the
# call's timeline says in the reader's words instead (the Japanese tour found the English).
BY_AGENT = {
    "help": N_("agent {agent} asks for help"),
    "help-cancelled": N_("agent {agent} no longer needs help"),
}
# Entries whose detail is only that English sentence: the timeline leaves it out.
OWN_SENTENCE = {*BY_AGENT, "help-answered"}


def action_text(page: ui.Page, a: dict[str, Any]) -> str:
    """An audit entry on the call as the timeline says it, in the reader's words, people by
    the roster's names (a trial found 'supervisor haruka' beside the board's 佐々木 春香)."""
    if a["action"] in BY_AGENT:
        return _(BY_AGENT[a["action"]]).format(agent=reading.agent(page, a.get("agent")) or "?")
    supervisor = reading.supervisor(page, a["supervisor"])
    if a["action"] == "words-read":
        what = _("supervisor {supervisor} read {what}").format(
            supervisor=supervisor,
            what=_(words.READ_WHAT.get(a.get("detail") or "", words.READ_ANY)),
        )
        via = words.READ_VIA.get(a.get("mode") or "")
        return _("{what} ({via})").format(what=what, via=_(via)) if via else what
    what = _("supervisor {supervisor} {action}").format(
        supervisor=supervisor, action=words.word(words.ACTIONS, a["action"])
    )
    if a.get("mode"):
        before = f"{words.word(words.MODES, a['from_mode'])} → " if a.get("from_mode") else ""
        what += f" ({before}{words.word(words.MODES, a['mode'])})"
    if a.get("outcome") and a["outcome"] != "ok":
        what += f" — {a['outcome']}"
    if a.get("detail") and a["action"] not in OWN_SENTENCE:
        what += f": {a['detail']}"
    return what


def timeline(page: ui.Page, sid: str) -> pd.DataFrame:
    """Twilio's events for the call, with the supervisors' actions on it, oldest first: the
    actions the reader may read in the audit (GET /api/audit's rule: a lead, their own and
    their teams' calls'), so another team's cards and reads are not told here either."""
    services = page.runtime.services
    events = page.runtime.run(services.floor.timeline(sid))
    reader = of_supervisor(page.who, "session")
    team_of = page.runtime.roster.team_of_agent
    actions = page.runtime.run(
        services.audit.entries(
            AuditFilter(
                conference_sid=sid,
                limit=AUDIT_ON_CALL_LIMIT,
                visible=lambda e: may_see_audit_entry(
                    reader, team_of.get(e["agent"]), e["supervisor"]
                ),
            )
        )
    )
    named_agent, named_supervisor = reading.namers(page)
    rows = [
        {
            "At": e.at,
            "What": words.timeline(
                e.event,
                e.who,
                e.text,
                e.coaching,
                e.reason,
                agent=named_agent,
                supervisor=named_supervisor,
            ),
        }
        for e in events
    ]
    # The audit answers newest first, and its times are to the second: oldest first before
    # the (stable) sort, so a join, a switch and a leave in one second stay in that order.
    rows += [{"At": a["at"], "What": action_text(page, a)} for a in reversed(actions)]
    rows.sort(key=lambda r: r["At"] or "")  # UTC ISO 8601 sorts as time does
    shown = [{_("At"): reading.time_of_day(page, r["At"]), _("What"): r["What"]} for r in rows]
    return pd.DataFrame(shown, columns=[_("At"), _("What")])


def signal_tiles(conference: dict[str, Any]) -> None:
    signals = conference.get("signals") or {}
    share = signals.get("talk_share") or {}
    tiles = st.columns(5)
    speaking = " + ".join(words.word(words.ROLES, s) for s in signals.get("speaking") or [])
    tiles[0].metric(_("Speaking now"), speaking or _("nobody"))
    tiles[1].metric(
        _("Agent talk"),
        f"{share['agent']:.0%}" if "agent" in share else "—",
        help=_("The agent's share of the talking so far"),
    )
    silence = signals.get("silence_seconds")
    quiet = clock(silence) if silence is not None else "—"
    tiles[2].metric(_("Silence"), quiet, help=_("Since anyone last spoke (customer and agent on)"))
    tiles[3].metric(_("Holds"), signals.get("holds", 0))
    tiles[4].metric(_("Time on hold"), clock(signals.get("hold_seconds") or 0))


def agent_call_sid(conference: dict[str, Any]) -> str | None:
    return next(
        (p["call_sid"] for p in conference.get("participants") or () if p.get("role") == "agent"),
        None,
    )


def cards(page: ui.Page, conference: dict[str, Any]) -> None:
    """Text whispers: what was sent to the agent, and a box to send one. A card is words
    (live/words.py): shown to whoever may listen to the call, as its transcript is."""
    st.subheader(_("Cards to the agent"))
    if refusal(page.who, "listen", conference.get("team")) is not None:
        st.info(
            _("You may not listen to this call, so its cards are not shown here."),
            icon=":material/hearing_disabled:",
        )
        return
    for card in reversed(conference.get("cards") or []):
        # Plain text, never Markdown: a card is whatever someone typed.
        st.text(f"{card['supervisor']} · {reading.time_of_day(page, card['at'])}: {card['text']}")
    agent = agent_call_sid(conference)
    reason = refusal(page.who, "whisper", conference.get("team"))
    if agent is None or reason is not None:
        said = words.mode_refusal(page.who, "whisper", conference.get("team"), reason)
        st.caption(said or _("No agent on the call to send a card to."))
        return
    with st.form(f"card-{conference['sid']}", clear_on_submit=True, border=False):
        text = st.text_input(
            _("A card for the agent's screen"),
            max_chars=MAX_CARD_CHARS,
            key=f"card-text-{conference['sid']}",
        )
        if st.form_submit_button(_("Send card"), icon=":material/send:") and text.strip():
            ui.act(page, _("Card sent"), lambda: page.acting.send_card(agent, text))


def live_transcript(page: ui.Page, conference: dict[str, Any]) -> None:
    """The call's words as they are said (issue 15), with pause for a payment and the
    phrase alerts' mute; the lines themselves are drawn by the browser component."""
    sid = conference["sid"]
    st.subheader(_("Live transcript"))
    if refusal(page.who, "listen", conference.get("team")) is not None:
        # Words follow listening (issue 22): the service refuses the stream too.
        st.info(
            _("You may not listen to this call, so its words are not shown here."),
            icon=":material/hearing_disabled:",
        )
        return
    tx = conference.get("transcript") or {}
    acting = page.acting
    buttons = st.columns(3)
    may_pause = refusal(page.who, "listen", conference.get("team")) is None
    if tx.get("state") == "paused":
        if buttons[0].button(
            _("Resume transcription"),
            icon=":material/play_arrow:",
            key=f"tx-resume-{sid}",
            disabled=not may_pause,
        ):
            ui.act(page, _("Transcription resumed"), lambda: acting.resume_transcript(sid))
    elif tx.get("state") in ("on", "starting") and buttons[0].button(
        _("Pause for a payment"),
        icon=":material/pause:",
        key=f"tx-pause-{sid}",
        disabled=not may_pause,
        help=_("Nothing said until you resume is transcribed or kept"),
    ):
        ui.act(page, _("Transcription paused"), lambda: acting.pause_transcript(sid))
    loud = [h for h in conference.get("phrases") or () if not h.get("muted")]
    if loud and buttons[1].button(
        _("Mute phrase alert"),
        icon=":material/notifications_off:",
        key=f"tx-mute-{sid}",
        disabled=refusal(page.who, "whisper", conference.get("team")) is not None,
    ):
        ui.act(page, _("Phrase alert muted on this call"), lambda: acting.mute_phrases(sid))
    transcript.show(page, sid)


def ended_call(page: ui.Page, conference: dict[str, Any]) -> None:
    """An ended call keeps its identity (agent and team in the title; customer, times and
    length from its archive record) and links to that record (issue 28)."""
    sid = str(conference["sid"])
    started, ended = conference.get("started_at"), conference.get("ended_at")
    length = clock(seconds_since(started, time.time()) - seconds_since(ended, time.time()))
    st.info(
        _("This call ended at {time} after {length}.").format(
            time=reading.when(page, ended), length=length
        ),
        icon=":material/call_end:",
    )
    try:
        record = page.runtime.run(page.runtime.services.store.get(sid))
    except Unavailable:
        record = None
    if record is None:
        st.caption(
            _(
                "Started {time}. Its record reaches the archive (Calls) a few seconds "
                "after the call ends."
            ).format(time=reading.when(page, started))
        )
        return
    number = reading.number(page, record.get("customer"))
    st.markdown(
        _("Customer **{number}** · started {time} · queue {queue}").format(
            number=literal(number or _("unknown")),
            time=literal(reading.when(page, started)),
            queue=literal(record.get("queue") or "—"),
        )
    )
    st.page_link(
        "views/calls.py",
        label=_("Open its record in Calls"),
        icon=":material/history:",
        query_params={"sid": sid},
    )


def live_part(page: ui.Page, sid: str) -> None:
    try:
        conference = page.runtime.run(page.runtime.services.floor.conference(sid))
    except Unavailable as exc:
        st.error(
            _("{reason}. This page shows again as soon as it answers.").format(reason=literal(exc)),
            icon=":material/warning:",
        )
        return
    if conference is None:
        st.warning(
            _("No call {sid} is known here (it may have ended more than a day ago).").format(
                sid=literal(sid)
            )
        )
        return
    ui.show_flash()
    number = reading.number(page, customer_number(conference))
    st.title(
        f"{literal(reading.agent(page, conference.get('agent')) or _('No agent yet'))} · "
        f"{literal(conference.get('team') or '—')}"
    )
    if conference.get("state") == "ended":
        ended_call(page, conference)
    else:
        duration = clock(seconds_since(conference.get("started_at"), time.time()))
        st.markdown(
            _(
                "Customer **{number}** · **{state}** for **{duration}** · queue {queue} · "
                "alerts: {alerts}"
            ).format(
                number=literal(number or _("unknown")),
                state=literal(words.word(words.STATES, conference.get("state"))),
                duration=duration,
                queue=literal(conference.get("queue") or "—"),
                alerts=literal(words.alerts(conference.get("alerts"), _("none"))),
            )
        )
        help_asked = conference.get("help")
        if help_asked:
            st.error(
                _("**{agent}** asked for help at {time}: joining the call answers it.").format(
                    agent=literal(reading.agent(page, help_asked["agent"])),
                    time=literal(reading.time_of_day(page, help_asked["since"])),
                ),
                icon=":material/sos:",
            )
        ui.mic_banner(conference, page.who.id)
        ui.mode_buttons(page, conference, key=f"call-{sid}", shortcuts=True)
        listen.control(page, conference, key=f"call-{sid}")
        listen.player(page)
        signal_tiles(conference)
        st.subheader(_("On the call"))
        st.dataframe(participants(conference, page), hide_index=True)
        live_transcript(page, conference)
        cards(page, conference)
    st.subheader(_("Timeline"))
    try:
        st.dataframe(timeline(page, sid), hide_index=True)
    except Unavailable as exc:
        st.error(literal(exc), icon=":material/warning:")


def new_stream(page: ui.Page, sid: str) -> None:
    ticket = board.new_ticket(page, "board")
    if ticket is not None:
        st.session_state["call-ticket"] = ticket
        st.session_state["call-url"] = board.call_url(page.settings.board_feed_url, ticket, sid)


def on_refresh() -> None:
    """The call changed (or its stream wants a new ticket): the fragment reruns."""
    value = board.trigger("refresh", board.CALL_KEY)
    state = st.session_state
    if (
        isinstance(value, dict)
        and value.get("reason") == "ticket"
        and (value.get("ticket") == state.get("call-ticket"))
    ):
        state["call-new-ticket"] = True


def waiting_part(page: ui.Page, sid: str) -> None:
    """What this page is, and what wakes it: the call's changes, and a slow tick for clocks."""
    ui.still_signed_in(page)
    if st.session_state.pop("call-new-ticket", False):
        new_stream(page, sid)
    live_part(page, sid)
    state = st.session_state
    board.watch_call(
        url=state.get("call-url", ""), ticket=state.get("call-ticket", ""), on_refresh=on_refresh
    )


def main() -> None:
    page = ui.current()
    sid = st.query_params.get("sid") or st.session_state.get("selected-sid")
    if not sid:
        st.title(_("Call"))
        st.info(_("Choose a call on the Floor page, then “Open call page”."))
        return
    st.session_state["selected-sid"] = sid
    if st.query_params.get("sid") != sid:
        st.query_params["sid"] = sid
    new_stream(page, str(sid))
    # Reruns when the call changes (the component hears it from /events/board); the slow
    # tick only moves the clocks on (duration, silence, time on hold).
    st.fragment(run_every=CLOCK_TICK_SECONDS)(waiting_part)(page, str(sid))


if __name__ == "__main__":
    main()
