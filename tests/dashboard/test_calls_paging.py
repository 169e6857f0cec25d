"""The Calls page's older pages belong to the search that found them (a trial set a team
after paging and the newest calls of that team were left out, with nothing saying so)."""

from __future__ import annotations

from archive.store import Search
from dashboard.views.calls import asked_by, cursor_of


def test_a_page_of_older_calls_is_kept_only_for_the_search_that_found_it() -> None:
    every = Search(limit=50)
    kept = (asked_by(every), 1234)
    assert cursor_of(every, kept) == 1234  # the same search: the older page it went to
    assert cursor_of(Search(limit=50), kept) == 1234  # (the same filters, asked again)
    assert cursor_of(Search(limit=50, team="jp-support"), kept) is None  # newest again
    assert cursor_of(Search(limit=50, q="解約"), kept) is None
    assert cursor_of(every, None) is None and cursor_of(every, 1234) is None
