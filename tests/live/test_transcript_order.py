"""A transcript is the one its callbacks describe, whatever order and however often they
arrive (issue 15): partials replaced by their final, a late partial never over a final,
repeats changing nothing. Hypothesis writes utterances of both speakers, as Twilio sends
them (partials, then the final, one SequenceId count per transcription); the ordered
callbacks go to one floor, shuffled ones with duplicates to another, through a real Redis.
Also the masking of card numbers and the phrase matcher, unit by unit."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.redis_client import RedisTarget, async_client
from live.phrases import BadPhrase, Phrase, compile_all, matches
from live.redact import CARD, DIGITS, has_card_number, mask
from live.roster import load as load_roster
from live.store import LiveFloor, now_ms
from live.transcript import Transcripts
from live.transcript_events import TranscriptionEvent
from tests.helpers import sid

WORDS = st.sampled_from(["hello", "my", "bill", "is", "wrong", "please", "help", "today", "ok"])


@dataclass
class Runner:
    loop: asyncio.AbstractEventLoop
    target: RedisTarget

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def floor(self, customer: str, agent: str) -> tuple[Transcripts, str]:
        """A fresh namespace holding one live call with a customer and an agent leg."""
        redis = async_client(self.target)
        floor = LiveFloor(redis, namespace="x" + uuid.uuid4().hex[:10], roster=load_roster(None))
        conference = sid("CF")
        people = {customer: {"call_sid": customer, "label": "customer", "present": True},
                  agent: {"call_sid": agent, "label": "agent:tara", "present": True}}  # fmt: skip
        doc = {"sid": conference, "fn": "task", "status": "in-progress", "seq": 1, "mon": {},
               "started": now_ms(), "p": people}  # fmt: skip

        async def seed() -> None:
            await redis.set(floor.keys.conference(conference), orjson.dumps(doc))
            await redis.hset(floor.keys.calls, mapping={customer: conference, agent: conference})
            await redis.zadd(floor.keys.live, {conference: now_ms()})

        self.run(seed())
        return Transcripts(redis, floor, load_roster(None), 1000, 600), conference


@pytest.fixture(scope="module")
def runner(redis_target: RedisTarget) -> Iterator[Runner]:
    loop = asyncio.new_event_loop()
    yield Runner(loop, redis_target)
    loop.close()


async def last_line(transcripts: Transcripts, conference: str) -> Any:
    """The conference document's last line, and that the registers' copy of it (`lj`, `la`)
    is what the document's text holds."""
    keys = transcripts.keys
    raw = await transcripts.redis.get(keys.conference(conference))
    kept, at = await transcripts.redis.hmget(keys.transcript_registers(conference), "lj", "la")
    assert isinstance(raw, bytes) and isinstance(kept, bytes) and isinstance(at, bytes)
    last = orjson.loads(raw)["tx"]["last"]
    assert orjson.loads(kept) == last and int(at) == last["at"]
    assert raw.count(b'"last":' + kept) == 1
    return last


@st.composite
def utterances(draw: st.DrawFn) -> tuple[str, list[TranscriptionEvent]]:
    """One transcription's content callbacks: per utterance, partials growing word by word
    (sometimes none), then its final."""
    customer = sid("CA")
    gt = sid("GT")
    seq = 1  # transcription-started took 1
    at = now_ms()
    out: list[TranscriptionEvent] = []
    for _ in range(draw(st.integers(1, 6))):
        track = draw(st.sampled_from(["inbound_track", "outbound_track"]))
        words = draw(st.lists(WORDS, min_size=1, max_size=6))
        for end in range(1, len(words) if draw(st.booleans()) else 1):
            seq += 1
            at += 100
            out.append(TranscriptionEvent("transcription-content", customer, gt, seq, at, track,
                                          False, " ".join(words[:end])))  # fmt: skip
        seq += 1
        at += 300
        out.append(TranscriptionEvent("transcription-content", customer, gt, seq, at, track,
                                      True, " ".join(words)))  # fmt: skip
    # A partial of an utterance still being spoken (no final yet) at the end, sometimes.
    if draw(st.booleans()):
        seq += 1
        out.append(TranscriptionEvent("transcription-content", customer, gt, seq, at + 50,
                                      "inbound_track", False, "still talking"))  # fmt: skip
    return customer, out


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(story=utterances(), data=st.data())
def test_any_arrival_order_and_repeats_give_the_same_transcript(
    runner: Runner, story: tuple[str, list[TranscriptionEvent]], data: st.DataObject
) -> None:
    customer, events = story
    agent = sid("CA")
    repeats = data.draw(st.lists(st.sampled_from(events), max_size=len(events)))
    mess = data.draw(st.permutations(events + repeats))
    results, lasts = [], []
    for ordering in (events, mess):
        transcripts, conference = runner.floor(customer, agent)
        for event in ordering:
            event.call_sid = customer
            runner.run(transcripts.ingest(event))
        results.append(runner.run(transcripts.lines(conference)))
        lasts.append(runner.run(last_line(transcripts, conference)))
    in_order, shuffled = results
    assert shuffled == in_order
    # The conference's last line: the newest final, whatever the order (set in the
    # document's text or by decoding it, live/transcript.lua).
    newest = max((e for e in events if e.final), key=lambda e: e.at_ms)
    assert lasts[0] == lasts[1] == {"s": "customer" if newest.track == "inbound_track"
                                    else "agent", "t": newest.text, "at": newest.at_ms}  # fmt: skip
    finals = [e for e in events if e.final]
    assert [line["text"] for line in in_order if line["final"]] == [e.text for e in finals]
    # At most one partial per speaker, and only one newer than that speaker's finals.
    partials = [line for line in in_order if not line["final"]]
    assert len({line["speaker"] for line in partials}) == len(partials)
    speakers = {line["speaker"] for line in in_order}
    assert speakers <= {"customer", "agent"}


def test_inbound_is_the_transcribed_legs_own_voice() -> None:
    assert Transcripts.speaker("inbound_track", "customer") == "customer"
    assert Transcripts.speaker("outbound_track", "customer") == "agent"
    assert Transcripts.speaker("inbound_track", "agent") == "agent"
    assert Transcripts.speaker("outbound_track", "agent") == "customer"
    assert Transcripts.speaker("customer", "agent") == "customer"  # a label Earpiece set


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("my card is 4111 1111 1111 1111", f"my card is {CARD}"),
        ("it's 4111-1111-1111-1111 ok", f"it's {CARD} ok"),
        ("four one one one one one one one one one one one one one one one", CARD),
        ("5500 0000 0000 0004", CARD),
        ("the security code is 737", f"the security code is {DIGITS}"),
        ("CVV 1234", f"CVV {DIGITS}"),
        ("expiry 04 28", f"expiry {DIGITS}"),
        ("order 12345 please", "order 12345 please"),  # no card talk: an order number stays
        ("I have one question", "I have one question"),
        ("call me back in 10 minutes", "call me back in 10 minutes"),
    ],
)
def test_card_numbers_and_security_codes_are_masked(said: str, kept: str) -> None:
    assert mask(said) == kept
    assert not has_card_number(mask(said))


def test_after_card_talk_any_group_of_digits_is_masked() -> None:
    assert mask("it is 737", context=True) == f"it is {DIGITS}"
    assert mask("4111 1111", context=True) == CARD
    assert mask("one two three", context=True) == DIGITS
    assert mask("it is 737") == "it is 737"


@given(st.lists(st.integers(0, 9), min_size=13, max_size=19), st.sampled_from([" ", "-", ""]))
def test_no_card_length_run_survives(digits: list[int], sep: str) -> None:
    spoken = "card " + sep.join(str(d) for d in digits) + " thanks"
    assert not has_card_number(mask(spoken))
    assert not has_card_number(mask(sep.join(str(d) for d in digits)))


def test_phrases_match_whole_words_whatever_the_case_and_punctuation() -> None:
    phrases = compile_all(["cancel my account", "lawyer", r"re:\bswitch(ing)? to (acme|globex)\b"])
    assert matches(phrases, "I want to CANCEL my account!") == ["cancel my account"]
    assert matches(phrases, "my lawyer will call") == ["lawyer"]
    assert matches(phrases, "lawyers") == []  # whole words only
    assert matches(phrases, "I am switching to Globex") == [phrases[2].text]
    assert matches(phrases, "cancel my accountant") == []
    with pytest.raises(BadPhrase):
        Phrase.of("re:(unclosed")


def test_the_last_line_stays_right_when_other_writes_come_between(runner: Runner) -> None:
    """A final sets the conference's last line in the document's text where the document
    still holds the last line this script wrote; a document another script re-encoded
    since, a phrase hit, or a line older than the last one take the decode. Each way the
    document stays JSON, with the newest final as its last line."""
    customer, agent = sid("CA"), sid("CA")
    transcripts, conference = runner.floor(customer, agent)
    gt, at = sid("GT"), now_ms()

    def say(seq: int, text: str, when: int) -> Any:
        event = TranscriptionEvent("transcription-content", customer, gt, seq, when,
                                   "inbound_track", True, text)  # fmt: skip
        assert runner.run(transcripts.ingest(event)).outcome == "applied"
        return runner.run(last_line(transcripts, conference))

    assert say(2, "hello there", at)["t"] == "hello there"  # the first: decoded
    assert say(3, 'my bill is "wrong" {really}', at + 100)["t"] == 'my bill is "wrong" {really}'
    assert say(4, "an older line", at + 50)["t"] == 'my bill is "wrong" {really}'
    # Another script re-encodes the document (a pause and its end, by a supervisor).
    for what in ("pause", "resume"):
        assert runner.run(transcripts.set_state(conference, what, by="mina")) == "applied"
    assert say(5, "after the payment", at + 200)["t"] == "after the payment"
    assert say(6, "I want to cancel my account", at + 300)["t"] == "I want to cancel my account"
    raw = runner.run(transcripts.redis.get(transcripts.keys.conference(conference)))
    assert [h["p"] for h in orjson.loads(raw)["ph"]] == ["cancel my account"]
    assert say(7, "my card is 4111 1111 1111 1111", at + 400)["t"] == f"my card is {CARD}"
    assert say(8, "thanks", at + 400)["t"] == "thanks"  # the same instant: the later one


def test_every_transcript_key_is_dated_when_its_first_line_is_a_final(runner: Runner) -> None:
    """No partial before the first final (Twilio sends partials only when asked): the
    transcript's index, lines and registers all expire, none is kept for ever."""
    customer, agent = sid("CA"), sid("CA")
    transcripts, conference = runner.floor(customer, agent)
    event = TranscriptionEvent("transcription-content", customer, sid("GT"), 2, now_ms(),
                               "inbound_track", True, "hello there")  # fmt: skip
    assert runner.run(transcripts.ingest(event)).outcome == "applied"
    keys = transcripts.keys
    for key in (keys.transcript_index(conference), keys.transcript_lines(conference),
                keys.transcript_registers(conference)):  # fmt: skip
        assert runner.run(transcripts.redis.ttl(key)) > 0, key
