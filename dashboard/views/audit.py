"""Who listened to which call, when, and how: the audit trail, filterable, as CSV."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pandas as pd
import streamlit as st

from access.policy import may_see_audit_entry
from access.principal import of_supervisor
from coach.audit import FIELDS, AuditFilter, to_csv
from dashboard import ui
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
    agent = columns[1].selectbox("Agent", ["", *sorted(roster.agents)], key="a-agent")
    conference = columns[2].text_input("Conference SID", key="a-conference").strip()
    since_day = columns[3].date_input("Since", value=None, key="a-since")
    since_ms = (
        int(datetime.combine(since_day, time.min, tzinfo=UTC).timestamp() * 1000)
        if since_day
        else None
    )
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
    st.caption(f"{len(entries)} entries, newest first (at most {LIMIT}).")
    st.dataframe(pd.DataFrame(entries, columns=["id", *FIELDS]), hide_index=True)
    st.download_button(
        "Download CSV", to_csv(entries), file_name="earpiece-audit.csv", mime="text/csv",
        key="a-csv",
    )  # fmt: skip


if __name__ == "__main__":
    main()
