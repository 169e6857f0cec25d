"""Parsing Twilio's conference callback: what is refused, and why (the 400 reason)."""

from __future__ import annotations

import pytest

from live.events import BadEvent, parse_conference_event
from tests.helpers import BASE_TIME, Conference, sid

# Arrival time 0: these parse Twilio's own Timestamp, whatever today's date.
ANY_TIME = 2**62


def _join() -> dict[str, str]:
    return Conference().event("participant-join", sid("CA"), ParticipantLabel="agent:bob")


def test_join_is_normalised() -> None:
    params = _join()
    event = parse_conference_event(params, 0, max_skew_ms=ANY_TIME, idempotency_token="tok")
    assert event.conference_sid == params["ConferenceSid"]
    assert event.sequence == 1
    assert event.label == "agent:bob"
    assert event.muted is False and event.hold is False
    assert event.timestamp_ms == int(BASE_TIME.timestamp() * 1000) + 1000  # its Timestamp
    assert event.for_script()["tok"] == "tok"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"ConferenceSid": None}, "ConferenceSid is missing"),
        ({"ConferenceSid": "CA" + "1" * 32}, "not a conference SID"),
        ({"StatusCallbackEvent": None}, "StatusCallbackEvent is missing"),
        ({"StatusCallbackEvent": "participant-dance"}, "not a conference event"),
        ({"SequenceNumber": None}, "SequenceNumber is missing"),
        ({"SequenceNumber": "seven"}, "not a number"),
        ({"SequenceNumber": "2147483648"}, "out of range"),
        ({"CallSid": None}, "CallSid is missing"),
        ({"Muted": "maybe"}, "Muted must be true or false"),
        ({"Timestamp": "yesterday-ish"}, "Timestamp is not an RFC 2822 date"),
    ],
)
def test_bad_callbacks_are_refused_with_a_reason(
    change: dict[str, str | None], reason: str
) -> None:
    params = _join()
    for key, value in change.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    with pytest.raises(BadEvent, match=reason):
        parse_conference_event(params, 0, max_skew_ms=ANY_TIME)


def test_unknown_extra_parameters_are_ignored() -> None:
    params = {**_join(), "SomethingTwilioAddsLater": "x"}
    assert parse_conference_event(params, 0, max_skew_ms=ANY_TIME).event == "participant-join"
