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
from dashboard import reading, ui
from dashboard.runtime import Unavailable
from dashboard.text import literal

LIMIT = 5000


def main() -> None:
    page = ui.current()
    st.title("Audit")
    roster = page.runtime.roster
    reader = of_supervisor(page.who, "session")
    columns = st.columns(4)
    supervisor = columns[0].selectbox(
        "Supervisor", ["", *sorted(roster.supervisors)], key="a-supervisor"
    )
    agents = ["", *reading.agents_in_order(page, roster.agents)]
    agent = columns[1].selectbox("Agent", agents, key="a-agent",
                                 format_func=lambda a: reading.agent(page, a))  # fmt: skip
    conference = columns[2].text_input("Conference SID", key="a-conference").strip()
    since_day = columns[3].date_input("Since", value=None, key="a-since")
    since_ms = reading.day_range_ms(page, since_day, None)[0]
    query = AuditFilter(
        supervisor=supervisor or None, agent=agent or None,
        conference_sid=conference or None, since_ms=since_ms, limit=LIMIT,
        # The same rule as GET /api/audit: a lead reads their own actions and their teams'.
        visible=lambda e: may_see_audit_entry(
            reader, roster.team_of_agent.get(e["agent"]), e["supervisor"]),
    )  # fmt: skip
    try:
        entries = page.runtime.run(page.runtime.services.audit.entries(query))
    except Unavailable as exc:
        st.error(f"{literal(exc)}. Reload in a moment.", icon=":material/warning:")
        return
    floor = reading.clock(page)
    st.caption(f"{len(entries)} entries, newest first (at most {LIMIT}); times in "
               f"{page.settings.timezone} ({floor.zone_label()}).")  # fmt: skip
    table = pd.DataFrame(entries, columns=["id", *FIELDS])
    table.insert(1, "when", [floor.when(e.get("at")) for e in entries])
    st.dataframe(table, hide_index=True)
    st.download_button(
        "Download CSV", to_csv(entries, page.settings.timezone),
        file_name="earpiece-audit.csv", mime="text/csv",
        key="a-csv",
    )  # fmt: skip


if __name__ == "__main__":
    main()
