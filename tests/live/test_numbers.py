"""live/numbers.py in-process: a signed callback's numbers are ASCII digits in a range the
field can have, or a 400's reason naming the field, never a 500 (issue 21 §3)."""

from __future__ import annotations

import pytest

from live.events import BadEvent
from live.numbers import instant_s, number, plain_int, whole

# 2001-09-09T01:46:40Z: any moment (instant_s is given "now"; it never reads the clock).
NOW_MS = 1_000_000_000_000
# Full-width digits, as a Japanese keyboard types them: int() reads them, Twilio never sends them.
WIDE = "\uff11\uff12"


@pytest.mark.parametrize(
    "raw", ["", "-1", " 7", "7 ", "1_000", WIDE, "²", "٣", "1e3", "inf", "nan", "9" * 21]
)
def test_a_count_is_plain_ascii_digits_or_nothing(raw: str) -> None:
    assert plain_int(raw) is None


def test_a_count_of_plain_digits_reads_up_to_its_limit() -> None:
    assert plain_int("0") == 0
    assert plain_int("9" * 20) == 10**20 - 1
    assert plain_int("123", max_digits=2) is None
    assert plain_int("9" * 5000) is None  # past int()'s own 4,300-digit limit: once a 500


@pytest.mark.parametrize("raw", ["inf", "1e400", "NaN", WIDE, "1_000", " 7", "0x10", "1.", ".5"])
def test_what_float_would_take_is_refused_with_the_fields_name(raw: str) -> None:
    with pytest.raises(BadEvent, match=r"^SequenceNumber is not a plain number"):
        number({"SequenceNumber": raw}, "SequenceNumber", 0, 10)


def test_a_number_in_range_reads_and_out_of_range_says_the_range() -> None:
    assert number({"Duration": "12.5"}, "Duration", 0, 60) == 12.5
    assert number({"Duration": ""}, "Duration", 0, 60) is None
    assert number({}, "Duration", 0, 60) is None
    with pytest.raises(BadEvent, match=r"Duration '61' is out of range 0\.\.60"):
        number({"Duration": "61"}, "Duration", 0, 60)
    long = "9" * 20
    with pytest.raises(BadEvent, match=r"'99999999999999999999' is out of range"):
        number({"Duration": long}, "Duration", 0, 60)


def test_whole_cuts_twilios_fraction_of_a_second() -> None:
    assert whole({"Seconds": "7.9"}, "Seconds", 0, 10) == 7
    assert whole({"Seconds": "-0"}, "Seconds", 0, 10) == 0


def test_an_instant_is_seconds_or_iso_near_the_now_it_is_given() -> None:
    now_s = NOW_MS // 1000
    assert instant_s({"At": str(now_s - 30)}, "At", NOW_MS, 60, 60) == now_s - 30
    # TaskRouter's ISO form (the same moment, from UTC and from Tokyo's clock).
    assert instant_s({"At": "2001-09-09T01:46:10Z"}, "At", NOW_MS, 60, 60) == now_s - 30
    assert instant_s({"At": "2001-09-09T10:46:10+09:00"}, "At", NOW_MS, 60, 60) == now_s - 30
    assert instant_s({"At": ""}, "At", NOW_MS, 60, 60) is None
    with pytest.raises(BadEvent, match="is not a time near now"):
        instant_s({"At": str(now_s + 120)}, "At", NOW_MS, 60, 60)
    with pytest.raises(BadEvent, match="neither seconds nor an ISO 8601 date"):
        instant_s({"At": "yesterday"}, "At", NOW_MS, 60, 60)
