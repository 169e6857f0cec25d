"""Who listened to which call, when, and how: the audit trail, filterable, as CSV.

Times on the floor's clock (dashboard/reading.py): "Since" is a day on the floor, the
table's "When" column reads in the floor's zone, and the CSV keeps UTC `at` with the
floor's `at_local` beside it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from access.policy import may_see_audit_entry
from access.principal import of_supervisor
from core.audit import FIELDS, AuditFilter, to_csv
from dashboard import reading, ui, words
from dashboard.i18n import N_, _, ngettext
from dashboard.runtime import Unavailable
from dashboard.text import literal

LIMIT = 5000
# core/audit.py's FIELDS as the table heads them (the CSV keeps the field names: a file
# for tools, the same in every language).
HEADS = {
    "id": N_("id"),
    "when": N_("when"),
    "at": N_("at (UTC)"),
    "action": N_("action"),
    "what": N_("what"),
    "supervisor": N_("supervisor"),
    "conference_sid": N_("conference"),
    "friendly_name": N_("conference name"),
    "agent": N_("agent"),
    "mode": N_("mode"),
    "from_mode": N_("from mode"),
    "call_sid": N_("call"),
    "outcome": N_("outcome"),
    "detail": N_("detail"),
}


def main() -> None:
    page = ui.current()
    st.title(_("Audit"))
    roster = page.runtime.roster
    reader = of_supervisor(page.who, "session")
    columns = st.columns(4)
    supervisor = columns[0].selectbox(
        _("Supervisor"), ["", *sorted(roster.supervisors)], key="a-supervisor", placeholder=_("Any")
    )
    agents = ["", *reading.agents_in_order(page, roster.agents)]
    agent = columns[1].selectbox(
        _("Agent"),
        agents,
        key="a-agent",
        format_func=lambda a: reading.agent(page, a),
        placeholder=_("Any"),
    )
    conference = columns[2].text_input(_("Conference SID"), key="a-conference").strip()
    since_day = columns[3].date_input(_("Since"), value=None, key="a-since")
    since_ms = reading.day_range_ms(page, since_day, None)[0]
    query = AuditFilter(
        supervisor=supervisor or None,
        agent=agent or None,
        conference_sid=conference or None,
        since_ms=since_ms,
        limit=LIMIT,
        # The same rule as GET /api/audit: a lead reads their own actions and their teams'.
        visible=lambda e: may_see_audit_entry(
            reader, roster.team_of_agent.get(e["agent"]), e["supervisor"]
        ),
    )
    try:
        entries = page.runtime.run(page.runtime.services.audit.entries(query))
    except Unavailable as exc:
        st.error(
            _("{reason}. Reload in a moment.").format(reason=literal(exc)),
            icon=":material/warning:",
        )
        return
    floor = reading.clock(page)
    count = len(entries)
    st.caption(
        ngettext(
            "{n} entry, newest first (at most {limit}); times in {zone}.",
            "{n} entries, newest first (at most {limit}); times in {zone}.",
            count,
        ).format(n=count, limit=LIMIT, zone=reading.zone_named(page))
    )
    table = pd.DataFrame(entries, columns=["id", *FIELDS])
    table.insert(1, "when", [floor.when(e.get("at")) for e in entries])
    # The action's code stays (the CSV's and the API's), its words beside it.
    table.insert(3, "what", [words.word(words.ACTIONS, a) for a in table["action"]])
    table["mode"] = [words.word(words.MODES, m) for m in table["mode"]]
    table["from_mode"] = [words.word(words.MODES, m) for m in table["from_mode"]]
    table = table.rename(columns={k: _(v) for k, v in HEADS.items()})
    st.dataframe(table, hide_index=True)
    st.download_button(
        _("Download CSV"),
        to_csv(entries, page.settings.timezone),
        file_name="earpiece-audit.csv",
        mime="text/csv",
        key="a-csv",
    )


if __name__ == "__main__":
    main()
