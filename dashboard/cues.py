"""The floor's toasts and chime: once per call and cause, for calls the supervisor may act
on, never replayed by a reload (issue 28). The rule is access.alert_policy's; this module
only draws what it says is new.

A toast stays until read (`duration="long"` is Streamlit's longest timed one, 10 s,
where the eye is: the top right), and the chime plays once per run that has news.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from access.alert_policy import CueLog, actionable
from dashboard import reading, ui
from dashboard.i18n import _
from dashboard.runtime import Unavailable
from dashboard.text import literal
from live.board import asking_for_help, phrase_alerts


def _log(page: ui.Page) -> CueLog:
    return CueLog(page.runtime.services.redis, page.settings.namespace)


def _news(page: ui.Page, cues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    try:
        fresh: list[dict[str, Any]] = page.runtime.run(_log(page).first_time(page.who.id, cues))
    except Unavailable:
        return []  # Redis is away: no toast rather than the same toast again and again
    return fresh


def floor_cues(
    page: ui.Page, conferences: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Toast and chime what is new; return (calls asking for help, phrase alerts), both only
    of the calls `page.who` may act on, for the banners."""
    mine = actionable(page.who, conferences)
    asking = [c for c in mine if c.get("help")]
    said = phrase_alerts(mine)
    help_cues = asking_for_help(asking)
    news = _news(page, [*help_cues, *said])
    for cue in news:
        if cue.get("phrase") is None:
            agent = literal(reading.agent(page, cue.get("agent")) or _("An agent"))
            st.toast(
                _("**{agent}** asks for help").format(agent=agent),
                icon=":material/sos:",
                duration="long",
            )
        else:
            phrase = literal(cue["phrase"])
            agent = literal(reading.agent(page, cue["agent"]) or _("a call"))
            st.toast(
                _("“{phrase}” on **{agent}**'s call").format(phrase=phrase, agent=agent),
                icon=":material/campaign:",
                duration="long",
            )
    if news:
        st.html(f'<audio autoplay src="{ui.CHIME}" style="display:none"></audio>')
    return asking, said
