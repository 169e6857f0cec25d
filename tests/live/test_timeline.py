"""The call page's timeline: apply.lua's compact entries as sentences a supervisor reads."""

from __future__ import annotations

from live.timeline import entry_of, who_of


def test_each_code_reads_as_who_did_what() -> None:
    joined = entry_of("86400000|4|pj|agent:佐々木||".encode())
    assert (joined.event, joined.who, joined.text) == (
        "participant-join", "agent:佐々木", "agent 佐々木 joined")  # fmt: skip
    assert joined.at_ms == 86_400_000 and joined.seq == 4
    assert joined.at is not None and joined.at.startswith("1970-01-02T00:00:00")
    whisper = entry_of("86400000|5|pc|supervisor:mina|1|")
    assert whisper.coaching and whisper.text == "supervisor mina started whispering to the agent"
    assert entry_of("86400000|6|pc|supervisor:mina||").text == "supervisor mina stopped whispering"
    held = entry_of("86400000|7|ph|customer||")
    assert held.text == "the customer was put on hold"


def test_a_call_ends_with_twilios_reason_in_words() -> None:
    ended = entry_of("86400000|9|ce|||participant-with-end-conference-on-exit-left")
    assert ended.event == "conference-end" and ended.who == ""
    assert ended.text == "the call ended (one set to end the call left)"
    assert ended.reason == "participant-with-end-conference-on-exit-left"
    # A reason Twilio adds later is shown as it came, not dropped.
    assert entry_of("86400000|9|ce|||a-new-reason").text == "the call ended (a-new-reason)"
    assert entry_of("86400000|9|ce|||").text == "the call ended"


def test_a_code_or_label_it_does_not_know_is_shown_as_it_came() -> None:
    assert entry_of("86400000|10|zz|customer||").text == "zz"
    assert who_of("") == "a participant" and who_of("softphone/7") == "softphone/7"
    # apply.lua writes a label's "|" as "/": the fields after it stay where they were.
    odd = entry_of("86400000|11|pl|agent:a/b||")
    assert odd.who == "agent:a/b" and not odd.coaching and odd.reason is None


def test_a_leg_recorded_by_its_call_is_named_by_its_label_now() -> None:
    # apply.lua names a leg with no label yet by its CallSid (TaskRouter labels none).
    labels = {"CA1": "agent:wes", "CA2": ""}
    assert entry_of("86400000|4|pj|call:CA1||", labels).text == "agent wes joined"
    assert entry_of("86400000|4|pj|call:CA1||", labels).who == "agent:wes"
    assert entry_of("86400000|5|pl|call:CA2||", labels).text == "a participant left"
    assert entry_of("86400000|5|pl|call:CA3||").text == "a participant left"  # no document
