"""The board's floor kept from the feed shows what a full read of the floor shows (issue 29).

The board hub keeps every live call in memory from the change feed and redoes only what
changed (live/board_floor.py). Here two hubs watch the same views of one real floor: one
keeps the floor from the feed, the other reads it whole on every pass (as before issue
29). After each burst of random changes — calls that start (some with only a caller,
some under a FriendlyName already live), holds, speech, agents who leave, ends, final
transcript lines in English and Japanese (some saying a team phrase), supervisors who
listen in a browser — and the clock moving on, a pass of each must show the same views,
KPIs, help cues and supervisors' legs, row for row and in the same order. The feed is
also cut while the kept floor's reader is stopped (a gap: it must read the floor again),
and the namespace is wiped (Redis reset). The floor the ticker goes over (`now`) is
compared with the full read's too.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import orjson
import pytest

from core.redis_client import RedisTarget, async_client
from live import board_floor, board_hub, ears, model
from live.board import Filters
from live.board_hub import BoardHub, _broken
from live.events import parse_conference_event
from live.feed import FeedHub
from live.roster import load as load_roster
from live.store import LiveFloor
from live.transcript import Transcripts
from live.transcript_events import TranscriptionEvent
from tests.helpers import BASE_TIME, Conference, rfc2822, sid

ANY_TIME = 2**62  # arrival time 0: events carry Twilio's own Timestamp
BASE_MS = int(BASE_TIME.timestamp() * 1000)
AGENTS = ["tara", "uma", "vic", "sato", "suzuki", "bob", "ivan", "nick", "quinn"]
LINES = {
    "jp-support": [
        "解約したいのですが",
        "お問い合わせありがとうございます",
        "責任者を出してください",
    ],
    "billing": ["I want to cancel my account", "thanks, that helps", "my card was charged twice"],
}
VIEWS = [
    Filters(),
    Filters(order="longest", limit=50),
    Filters(order="newest", limit=50),
    Filters(order="agent"),
    Filters(teams=("jp-support",), order="agent"),
    Filters(states=("waiting", "hold")),
    Filters(agent="すずき"),
    Filters(agent="\uff54\uff41\uff52\uff41", order="newest"),  # "tara" typed full-width
]


class Story:
    """A floor that random things happen to, through the same scripts the webhooks use."""

    def __init__(self, floor: LiveFloor, transcripts: Transcripts, seed: int) -> None:
        self.floor, self.transcripts = floor, transcripts
        self.random = random.Random(seed)
        self.clock = 5.0  # seconds after BASE_TIME
        self.calls: dict[str, dict[str, Any]] = {}
        self.names: list[str] = []

    async def event(self, call: dict[str, Any], name: str, leg: str | None, **extra: Any) -> None:
        conf: Conference = call["conf"]
        params = conf.event(name, leg, Timestamp=rfc2822(self.clock), **extra)
        if leg is not None:
            params["ParticipantLabel"] = call["labels"][leg]
        await self.floor.apply(parse_conference_event(params, 0, max_skew_ms=ANY_TIME))

    async def new_call(self) -> None:
        r = self.random
        # Now and then under a FriendlyName already live: a duplicate conference.
        name = r.choice(self.names) if self.names and r.random() < 0.15 else "T" + sid("")[:8]
        self.names.append(name)
        conf = Conference(friendly_name=name)
        customer, agent = sid("CA"), sid("CA")
        call: dict[str, Any] = {
            "conf": conf, "customer": customer, "agent": agent, "agent_id": r.choice(AGENTS),
            "labels": {customer: "customer"}, "gt": sid("GT"), "tseq": 0,
        }  # fmt: skip
        call["labels"][agent] = f"agent:{call['agent_id']}"
        self.calls[conf.sid] = call
        await self.event(call, "participant-join", customer, Hold=False)
        if r.random() < 0.8:  # else a caller still waiting for an agent (until `answer`)
            await self.answer(call)

    async def answer(self, call: dict[str, Any]) -> None:
        """The agent joins; the conference starts then, so a caller who waited sees its
        start move to now (live/apply.lua takes the conference-start's time)."""
        call["answered"] = True
        await self.event(call, "participant-join", call["agent"])
        await self.event(call, "conference-start", None)

    async def step(self) -> None:
        r = self.random
        if not self.calls or r.random() < 0.25:
            await self.new_call()
            return
        sid_ = r.choice(list(self.calls))
        call = self.calls[sid_]
        action = r.choice(["hold", "unhold", "speak", "quiet", "leave", "end", "line", "ear"])
        customer, agent = call["customer"], call["agent"]
        if not call.get("answered") and r.random() < 0.3:
            await self.answer(call)
        elif action in ("hold", "unhold"):
            hold = action == "hold"
            await self.event(call, f"participant-{action}", customer, Hold=hold)
        elif action in ("speak", "quiet"):
            who = r.choice([customer, agent])
            kind = "start" if action == "speak" else "stop"
            await self.event(call, f"participant-speech-{kind}", who)
        elif action == "leave":
            await self.event(call, "participant-leave", agent)
        elif action == "end":
            await self.event(call, "conference-end", None)
            del self.calls[sid_]
        elif action == "line":
            team = "jp-support" if call["agent_id"] in ("sato", "suzuki") else "billing"
            call["tseq"] += 1
            event = TranscriptionEvent("transcription-content", customer, call["gt"],
                                       call["tseq"], BASE_MS + int(self.clock * 1000),
                                       "inbound_track", True, r.choice(LINES[team]))  # fmt: skip
            await self.transcripts.ingest(event)
        elif action == "ear":
            redis, keys = self.floor.redis, self.floor.keys
            if r.random() < 0.5:
                await ears.hear(redis, keys, sid_, "ken/tab1")
            else:
                await ears.gone(redis, keys, sid_, "ken/tab1")


def seen(hub: BoardHub) -> tuple[dict[Any, Any], Any]:
    """Every view as a new watcher gets it (but for its version and instant)."""
    views = {}
    for key, view in hub.views.items():
        message = orjson.loads(view.message(None))
        del message["v"], message["at"]
        views[key] = message
    return views, hub.mine


async def caught_up(floor: LiveFloor, feed: FeedHub) -> None:
    last = await floor.feed_last_id()
    for _ in range(500):
        if feed.read_id == last:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the feed's reader did not reach {last}")


async def compare(target: RedisTarget, seed: int) -> tuple[BoardHub, int]:
    redis = async_client(target)
    roster = load_roster(None)  # the demo roster: Japanese names, readings and phrases
    floor = LiveFloor(redis, namespace="b" + uuid.uuid4().hex[:10], roster=roster)
    transcripts = Transcripts(redis, floor, roster, 1000, 600)
    feed = FeedHub(floor)
    await feed.start()
    kept = BoardHub(floor, feed, period=0, mask=True, country="JP", clock_seconds=0)
    full = BoardHub(floor, feed, period=0, mask=True, country="JP", incremental=False)
    for filters in VIEWS:
        for hub in (kept, full):
            await hub.watch(filters)
    story = Story(floor, transcripts, seed)
    await kept.run_once(BASE_MS)  # the kept floor's first pass: it follows the feed from now
    checked = 0
    try:
        for burst in range(40):
            if burst in (12, 30):
                # A gap: the reader is away while the floor moves and the feed is cut.
                await feed.stop()
                for _ in range(5):
                    await story.step()
                await redis.xtrim(floor.keys.feed, maxlen=0)
                await feed.start()
                await story.step()
            elif burst == 22:
                # Redis reset: the namespace is gone (no ended entries); a new floor begins.
                await redis.delete(*[k async for k in redis.scan_iter(f"{floor.keys.tag}*")])
                story.calls.clear()
            for _ in range(story.random.randint(1, 8)):
                await story.step()
            story.clock += story.random.choice([0, 0.4, 1, 3, 9, 20])
            await caught_up(floor, feed)
            at = BASE_MS + int(story.clock * 1000)
            await kept.run_once(at)
            await full.run_once(at)
            assert kept.error is None and full.error is None
            assert seen(kept) == seen(full), f"seed {seed}, burst {burst}"
            assert kept.kept is not None
            read = await floor.conferences(at)
            live = {c["sid"] for c in read}
            assert {s for s in live if kept.call_version(s) is not None} == live
            # What the ticker and its jobs go over (BoardHub.floor_now): every live call with
            # its alerts as of now, as a full read renders them.
            essentials = ("alerts", "state", "team", "monitors", "transcript", "alone_since")
            now = {c["sid"]: [c.get(k) for k in essentials] for c in kept.kept.now(at)}
            assert now == {c["sid"]: [c.get(k) for k in essentials] for c in read}, burst
            checked += 1
    finally:
        await feed.stop()
        await redis.delete(*[k async for k in redis.scan_iter(f"{floor.keys.tag}*")] or ["-"])
        await redis.aclose()
    return kept, checked


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_kept_floor_shows_what_a_full_read_shows(redis_target: RedisTarget, seed: int) -> None:
    kept, checked = asyncio.run(compare(redis_target, seed))
    assert checked == 40
    # Read whole at start, after each of the two gaps and after the reset; not otherwise.
    assert kept.loads == 4, kept.loads


def test_what_reads_as_a_gap_in_the_feed() -> None:
    assert not _broken("0-0", None, None, False), "no feed yet, none read: nothing missed"
    assert _broken("5-0", None, None, False), "the feed is gone: Redis was reset"
    assert _broken("5-0", "1-0", "4-0", False), "the feed went back: restored from an older file"
    assert _broken("5-0", "1-0", "9-0", True), "entries were added that never came"
    assert not _broken("5-0", "7-0", "9-0", False), "ours aged out, but nothing was missed"
    # Where Redis does not count entries (before 7.0), by the ids alone.
    assert not _broken("5-0", "1-0", "9-0", None), "entries after ours are still there"
    assert _broken("5-0", "7-0", "9-0", None), "trimmed past ours: maybe before they were read"
    assert not _broken("5-0", None, "5-0", None), "trimmed empty after we read it all"
    assert _broken("5-0", None, "6-0", None), "trimmed empty with an entry we never read"


async def last_lines(target: RedisTarget) -> None:
    redis = async_client(target)
    roster = load_roster(None)
    floor = LiveFloor(redis, namespace="b" + uuid.uuid4().hex[:10], roster=roster)
    transcripts = Transcripts(redis, floor, roster, 1000, 600)
    feed = FeedHub(floor)
    await feed.start()
    kept = BoardHub(floor, feed, period=0, mask=True, country="JP", clock_seconds=0)
    await kept.watch(Filters())
    story = Story(floor, transcripts, 7)
    read: list[str] = []
    documents = floor.documents

    async def counted(sids: list[str]) -> dict[str, Any]:
        read.extend(sids)
        return await documents(sids)

    try:
        await kept.run_once(BASE_MS)  # it follows the feed from now
        for _ in range(3):
            await story.new_call()
        await caught_up(floor, feed)
        await kept.run_once(BASE_MS + 5000)
        floor.documents = counted  # type: ignore[method-assign]
        sid_, call = next(iter(story.calls.items()))

        async def say(text: str, at_ms: int) -> dict[str, Any]:
            call["tseq"] += 1
            event = TranscriptionEvent("transcription-content", call["customer"], call["gt"],
                                       call["tseq"], at_ms, "inbound_track", True,
                                       text)  # fmt: skip
            await transcripts.ingest(event)
            await caught_up(floor, feed)
            await kept.run_once(at_ms + 1000)
            assert kept.kept is not None and kept.error is None
            shown = {c["sid"]: c for c in kept.kept.now(at_ms + 1000)}[sid_]["transcript"]
            conference = await floor.conference(sid_)
            assert conference is not None and shown == conference["transcript"]  # as a read
            return dict(shown["last"])

        assert (await say("お問い合わせありがとうございます", BASE_MS + 6000))["text"] == (
            "お問い合わせありがとうございます"
        )
        assert (await say("カード番号は4111 1111 1111 1111です", BASE_MS + 7000))["text"] == (
            "カード番号は[card number]です"
        )
        assert read == [], "a line that became the last line is set from its feed entry"
        # A final older than the call's last line (it came late) is not its last line: its
        # entry does not say it is, and the hub reads the call (as before) rather than guess.
        assert (await say("少々お待ちください", BASE_MS + 6500))["text"] == (
            "カード番号は[card number]です"
        )
        assert read == [sid_]
    finally:
        await feed.stop()
        await redis.delete(*[k async for k in redis.scan_iter(f"{floor.keys.tag}*")] or ["-"])
        await redis.aclose()


def test_a_final_line_moves_the_kept_call_without_reading_it(redis_target: RedisTarget) -> None:
    """Issue 23: a final transcript line cost the board hub a read and a render of its call;
    the line's feed entry says when it became the call's last line, and the kept call takes
    it from there, as a read would show it."""
    asyncio.run(last_lines(redis_target))


async def talking(target: RedisTarget, monkeypatch: pytest.MonkeyPatch) -> None:
    redis = async_client(target)
    roster = load_roster(None)
    floor = LiveFloor(redis, namespace="b" + uuid.uuid4().hex[:10], roster=roster)
    feed = FeedHub(floor)
    await feed.start()
    kept = BoardHub(floor, feed, period=0, mask=True, country="JP", clock_seconds=0)
    await kept.watch(Filters())
    story = Story(floor, Transcripts(redis, floor, roster, 1000, 600), 11)
    rendered: list[str] = []
    render = model.render_with_clock  # what live/board_floor.py calls

    def counted(doc: Any, roster_: Any) -> Any:
        rendered.append(str(doc.get("sid")))
        return render(doc, roster_)

    monkeypatch.setattr(board_floor, "render_with_clock", counted)
    try:
        await kept.run_once(BASE_MS)  # it follows the feed from now
        for _ in range(3):
            await story.new_call()
        sid_, call = next(iter(story.calls.items()))
        await story.answer(call)
        await caught_up(floor, feed)
        await kept.run_once(BASE_MS + 1000)
        rendered.clear()
        # Between two passes the agent and the caller take turns, five changes of one call.
        for n in range(5):
            story.clock += 0.3
            leg = call["agent"] if n % 2 == 0 else call["customer"]
            await story.event(call, "participant-speech-start", leg)
        await caught_up(floor, feed)
        assert rendered == [], "nothing is rendered before something reads the kept floor"
        # A view made between two passes shows what came since the last one.
        await kept.watch(Filters(order="newest"))
        assert rendered == [sid_], "the call is rendered once, as its newest document is"
        await kept.run_once(BASE_MS + 3000)
        assert rendered == [sid_], "and not again at the pass"
        shown = {c["sid"]: c for c in kept.kept.now(BASE_MS + 3000)}  # type: ignore[union-attr]
        read = {c["sid"]: c for c in await floor.conferences(BASE_MS + 3000)}
        speaking = {p["call_sid"]: p.get("speaking") for p in shown[sid_]["participants"]}
        assert speaking == {p["call_sid"]: p.get("speaking") for p in read[sid_]["participants"]}
        assert speaking[call["customer"]] and speaking[call["agent"]]

        # What the ticker reads (floor_now) and a page's call version see the newest too.
        before = kept.call_version(sid_)
        story.clock += 0.3
        await story.event(call, "participant-speech-stop", call["agent"])
        other = next(c for s, c in story.calls.items() if s != sid_)
        await story.event(other, "participant-speech-start", other["customer"])
        await caught_up(floor, feed)
        rendered.clear()
        assert kept.call_version(sid_) == (before or 0) + 1
        assert rendered == [sid_], "a page following a call has that call rendered, no other"
        now = {c["sid"]: c for c in await kept.floor_now() or []}
        agent_row = [p for p in now[sid_]["participants"] if p["call_sid"] == call["agent"]]
        assert agent_row and not agent_row[0].get("speaking")

        # However fast the feed goes, a pass never has more than MAX_UNAPPLIED calls to
        # render on top of its own work: beyond, they are applied as they come.
        monkeypatch.setattr(board_hub, "MAX_UNAPPLIED", 2)
        rendered.clear()
        for other in list(story.calls.values()):
            story.clock += 0.1
            await story.event(other, "participant-speech-stop", other["customer"])
        await caught_up(floor, feed)
        assert len(rendered) >= 2, rendered
    finally:
        await feed.stop()
        await redis.delete(*[k async for k in redis.scan_iter(f"{floor.keys.tag}*")] or ["-"])
        await redis.aclose()


def test_a_call_that_changed_many_times_between_passes_is_rendered_once(
    redis_target: RedisTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 29: following the feed rendered every entry as it came, ~44 us of the callback
    service's CPU a callback; nothing shows a row between passes, so each call's newest
    change is rendered when the kept floor is read (live/unapplied.py)."""
    asyncio.run(talking(redis_target, monkeypatch))
