"""Agents: every agent of your teams as a card, and the controls to run the floor (issue 27).

The cards show activity, time in it, the call and any change waiting for the end of the
call; filter by team and state, longest in state first. The browser draws them (the board
component's `agents` mode) from the queues stream the service works out once for every
watcher, so a change reaches every open page without a Streamlit rerun per watcher; the
same rules in Python (dashboard/agent_cards.py) pick the agents the controls offer. Below
them, for one chosen agent: set the activity now or after the call and wrap-up (with a
reason, shown on the card until it happens), cancel a waiting change, complete a stuck
wrap-up, end their call (a confirmation naming agent and customer) or remove one leg.
Stuck wrap-ups (the `long-wrap-up` alert) each get a one-click button.

Every action goes to the API (dashboard/actions.py) with the signed-in supervisor's own
session: the service's coach/agent_state.py and coach/call_control.py act (the twilio
SDK, the audit), and access/policy.py's `may_run` decides there; the page asks the same
rule only to offer the controls. On a floor without TaskRouter the page says so.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import streamlit as st

from access.policy import Denied, may_run, own_teams
from access.principal import of_supervisor
from dashboard import agent_cards, board, i18n, reading, ui, words
from dashboard.actions import Refused
from dashboard.agent_cards import ALL, Card, state_label
from dashboard.i18n import N_, _
from dashboard.runtime import Unavailable
from dashboard.text import literal

# The controls below the cards (stuck wrap-ups, the chosen agent's state) are read again this
# often; the cards themselves never wait for a rerun.
CONTROLS_REFRESH_SECONDS = 5.0
STATES = ("on a call", "wrap-up", "available")
# A leg's role (live/model.py) in words.
WHEN = {"now": N_("now"), "after this call": N_("after this call")}


def refusal(page: ui.Page, team: str | None) -> str | None:
    try:
        may_run(of_supervisor(page.who, "dashboard"), team, "this agent")
    except Denied as exc:
        return str(exc)
    return None


def activity_controls(page: ui.Page, card: Card, names: list[str]) -> None:
    acting = page.acting
    key = card.worker_sid
    with st.form(f"activity-{key}", border=False):
        cols = st.columns([2, 2, 4, 1.4])
        activity = cols[0].selectbox(_("Activity"), names, key=f"act-{key}")
        if card.task_sid:
            when = cols[1].radio(
                _("When"),
                list(WHEN),
                key=f"when-{key}",
                horizontal=True,
                format_func=i18n.bound(lambda w: _(WHEN[w])),
            )
        else:
            # Not on a call: only "now" (a disabled radio's grey labels failed axe's contrast).
            when = "now"
            cols[1].markdown(_("When: **now** (not on a call)"))
        reason = cols[2].text_input(
            _("Reason"), key=f"why-{key}", max_chars=200, placeholder=_("e.g. 1on1 / training")
        )
        if cols[3].form_submit_button(_("Set"), type="primary"):
            mode = "after-call" if when == "after this call" else "now"
            message = (
                _("{agent}: {activity} after this call and wrap-up")
                if mode == "after-call"
                else _("{agent}: {activity}")
            ).format(agent=card.name, activity=activity)
            ui.act(
                page,
                message,
                lambda: acting.set_activity(
                    card.agent or card.worker_sid, str(activity), mode, reason
                ),
            )
    if card.pending and st.button(_("Cancel the change waiting for the call"), key=f"cancel-{key}"):
        ui.act(
            page,
            _("{agent}: the waiting change is canceled").format(agent=card.name),
            lambda: acting.cancel_pending(card.agent or card.worker_sid),
        )


def wrap_up_button(page: ui.Page, card: Card, where: str) -> None:
    acting = page.acting
    label = _("Complete {agent}'s wrap-up").format(agent=card.name)
    if st.button(label, key=f"wrap-{where}-{card.worker_sid}"):
        reason = f"wrap-up completed from Earpiece by {page.who.id}"
        ui.act(
            page,
            _("{agent}'s task is completed").format(agent=card.name),
            lambda: acting.complete_wrap_up(card.agent or card.worker_sid, reason, card.task_sid),
        )


def call_controls(page: ui.Page, card: Card) -> None:
    if not card.conference_sid:
        return
    acting = page.acting
    try:
        conference = page.runtime.run(page.runtime.services.floor.conference(card.conference_sid))
    except Unavailable:
        return
    if not conference or conference.get("status") == "completed":
        return
    customer = next(
        (
            p.get("number") or p["call_sid"]
            for p in conference["participants"]
            if p.get("role") == "customer"
        ),
        _("the customer"),
    )
    sid = str(conference["sid"])
    asked = st.session_state.get("end-asked") == sid
    if not asked and st.button(_("End this call…"), key=f"end-{sid}"):
        st.session_state["end-asked"] = sid
        st.rerun(scope="fragment")
    if asked:
        st.warning(
            _("End the call of {agent} with {customer} for everyone on it?").format(
                agent=literal(card.name), customer=literal(customer)
            )
        )
        yes, no = st.columns(2)
        end = _("End {agent}'s call with {customer}").format(
            agent=literal(card.name), customer=literal(customer)
        )
        if yes.button(end, type="primary", key=f"y-{sid}"):
            st.session_state.pop("end-asked", None)
            ui.act(
                page,
                _("{agent}'s call is ending").format(agent=card.name),
                lambda: acting.end_call(sid),
            )
        if no.button(_("Keep the call"), key=f"n-{sid}"):
            st.session_state.pop("end-asked", None)
            st.rerun(scope="fragment")
    # Each leg once: a participant (its role and who, from its label), then a supervisor's
    # leg still dialing (a monitor not yet among the participants).
    legs: dict[str, str] = {}
    for p in conference["participants"]:
        who = str(p.get("label") or "").partition(":")[2]
        role = str(p.get("role") or "")
        said = _(words.ROLES[role]) if role in words.ROLES else role
        legs[p["call_sid"]] = f"{said} {who}".strip()
    for m in conference.get("monitors") or ():
        if m.get("call_sid") and m["call_sid"] not in legs:
            legs[m["call_sid"]] = f"{_(words.ROLES['supervisor'])} {m['supervisor']}"
    # Keyed: an element shown or gone above it (a flash message that expires, a stuck
    # wrap-up) moved it, so each run made it anew, closed, and a click on one of its
    # buttons while the page ran again was lost (the Agents test, once in a CI run; its
    # screenshot showed the expander closed and no removal asked of the API).
    with st.expander(_("Remove one leg"), key=f"legs-{sid}"):
        for call_sid, what in legs.items():
            if st.button(_("Remove {who}").format(who=literal(what)), key=f"rm-{call_sid}"):
                ui.act(
                    page,
                    _("{who} removed from the call").format(who=what),
                    functools.partial(acting.remove_leg, sid, str(call_sid)),
                )


def new_stream(page: ui.Page) -> None:
    ticket = board.new_ticket(page, "board")
    if ticket is not None:
        st.session_state["agents-ticket"] = ticket
        st.session_state["agents-url"] = board.queues_url(page.settings.board_feed_url, ticket)


def on_refresh() -> None:
    """The cards' stream wants a new ticket. Its event reruns the whole page, whose run
    mints one (main, before the cards): nothing more to do here. The fragment below once
    minted another and reran the page again from its first line, before its buttons, so a
    click that came with that run (Remove, Complete) could be dropped: the likely cause
    of the Agents test's lost "Remove" on a loaded machine."""


def controls_part(page: ui.Page) -> None:
    """Stuck wrap-ups and the chosen agent's controls (the cards above draw themselves)."""
    ui.still_signed_in(page)
    ui.show_flash()
    services = page.runtime.services
    try:
        agents: list[dict[str, Any]] = page.runtime.run(services.queues.agents())
    except Unavailable as exc:
        st.error(str(exc))
        return
    now = time.time()
    cards = agent_cards.visible(page.who, agents)
    shown = agent_cards.choose(
        cards,
        str(st.session_state.get("agents-team", ALL)),
        str(st.session_state.get("agents-state", ALL)),
        now,
    )
    stuck = [c for c in cards if "long-wrap-up" in c.alerts and refusal(page, c.team) is None]
    if stuck:
        st.subheader(_("Stuck wrap-ups"))
        for card in stuck:
            wrap_up_button(page, card, "alert")

    st.subheader(_("Run an agent"))
    if not shown:
        return
    labels = {f"{c.name} ({c.agent or c.worker_sid})": c for c in shown}
    chosen = labels[str(st.selectbox(_("Agent"), list(labels), key="agents-chosen"))]
    why_not = words.run_refusal(page.who, chosen.team, refusal(page, chosen.team))
    if why_not:
        st.info(why_not)
        return
    try:
        names = page.acting.activities()
    except Refused as exc:  # Twilio away: the cards above still show
        st.error(
            _("TaskRouter's activities could not be read: {reason}").format(
                reason=literal(words.error(exc.code, exc.message))
            )
        )
        return
    activity_controls(page, chosen, names)
    if chosen.phase == "wrapping":
        wrap_up_button(page, chosen, "row")
    call_controls(page, chosen)


def main() -> None:
    page = ui.current()
    st.title(_("Agents"))
    if not page.settings.workspace_sid:
        st.info(
            _(
                "This floor has no TaskRouter Workspace (TWILIO_WORKSPACE_SID is not set): "
                "agents' activities and wrap-ups are not Earpiece's to change here. Calls "
                "can still be ended from their call page."
            )
        )
    try:
        agents: list[dict[str, Any]] = page.runtime.run(page.runtime.services.queues.agents())
    except Unavailable as exc:
        st.error(str(exc))
        return
    cards = agent_cards.visible(page.who, agents)
    teams = sorted({c.team for c in cards if c.team})
    activities = sorted({c.state for c in cards} - set(STATES))
    left, right = st.columns(2)
    team = left.selectbox(
        _("Team"),
        [ALL, *teams],
        key="agents-team",
        format_func=i18n.bound(lambda t: _(ALL) if t == ALL else t),
    )
    state = right.selectbox(
        _("State"),
        [ALL, *STATES, *activities],
        key="agents-state",
        format_func=i18n.bound(state_label),
    )
    # A full run (the page opened, a filter changed) draws the cards' component with the
    # filters; from then on the browser redraws them from the queues stream by itself.
    new_stream(page)
    board.show_agent_cards(
        url=st.session_state.get("agents-url", ""),
        ticket=st.session_state.get("agents-ticket", ""),
        teams=list(page.who.teams) if page.who.role == "lead" else None,
        team=str(team),
        state=str(state),
        on_refresh=on_refresh,
    )
    not_workers = roster_agents_without_worker(page, cards)
    if not_workers and page.settings.workspace_sid:  # (no Workspace: the page says so above)
        # A trial's lead counted three agents on her team and found one card: an agent who
        # is no TaskRouter Worker (a direct line) has no activity to show or set here.
        st.caption(
            _(NOT_WORKERS).format(
                agents=literal(words.listed([reading.agent(page, a) for a in not_workers]))
            )
        )
    st.fragment(run_every=CONTROLS_REFRESH_SECONDS)(controls_part)(page)


NOT_WORKERS = N_(
    "Not TaskRouter workers, so without a card here: {agents}. Their calls are on the Floor."
)


def roster_agents_without_worker(page: ui.Page, cards: list[Card]) -> list[str]:
    """The roster's agents of the teams this supervisor sees that no Worker stands for."""
    roster = page.runtime.roster
    teams = own_teams(page.who.role, page.who.teams) or tuple(roster.teams)
    carded = {c.agent for c in cards if c.agent}
    # (dict.fromkeys: an agent on two of those teams is named once)
    return list(
        dict.fromkeys(
            agent
            for team in teams
            if team in roster.teams
            for agent in roster.teams[team].agents
            if agent not in carded
        )
    )


if __name__ == "__main__":
    main()
