"""Parts of the Calls page (QA trials): its older pages belong to the search that found
them (a team set after paging left that team's newest calls out, with nothing saying so),
and a downloaded CSV opens as UTF-8 in a spreadsheet."""

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


def test_a_downloaded_csv_opens_as_utf8_in_a_spreadsheet() -> None:
    from dashboard.views.calls import for_spreadsheets

    made = for_spreadsheets("sid,notes\r\nCF1,確認なし\r\n")
    assert made.encode("utf-8").startswith(b"\xef\xbb\xbf")  # UTF-8's byte order mark
    assert made.encode("utf-8").decode("utf-8-sig") == "sid,notes\r\nCF1,確認なし\r\n"
    assert for_spreadsheets(made) == made and for_spreadsheets("") == ""  # once, if any
