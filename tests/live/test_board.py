"""The live board: its rules (live/board.py), and `GET /events/board` over real HTTP
against the simulator and a real Redis: one view worked out once for all its
watchers, whole to a new watcher and as a change to one that is up to date."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import httpx
import pytest
from httpx_sse import ServerSentEvent, connect_sse

from live.board import BadFilters, Filters, choose, kpis, mask_number, row
from tests.conftest import API_TOKEN, Wired
from tests.live.test_floor_views import NOW, conference


def test_filters_read_from_a_query_string_and_refuse_what_cannot_be_a_view() -> None:
    f = Filters.from_query({"team": ["b", "a", "a"], "state": ["hold"], "order": ["newest"],
                            "limit": ["50"], "agent": [" Ivan "]})  # fmt: skip
    assert f == Filters(teams=("a", "b"), states=("hold",), order="newest", limit=50, agent="Ivan")
    assert Filters.from_query({k: [v] if isinstance(v, str) else v
                               for k, v in _pairs(f).items()}) == f  # fmt: skip
    for bad in ({"state": ["ringing"]}, {"order": ["random"]}, {"limit": ["7"]},
                {"limit": ["-1"]}, {"agent": ["x" * 65]}, {"team": [str(n) for n in range(51)]},
                {"order": ["newest", "agent"]}):  # fmt: skip
        with pytest.raises(BadFilters):
            Filters.from_query(bad)


def _pairs(f: Filters) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in f.query():
        out.setdefault(name, []).append(value)
    return out


def test_rows_carry_instants_to_tick_from_and_plain_text() -> None:
    floor = [
        conference("a", started=0, team="support", agent="nick", speaking=("agent", "customer")),
        conference("b", started=600, team="billing", agent="tara", state="waiting"),
        conference(
            "c",
            started=1200,
            team="support",
            agent="olga",
            state="hold",
            hold_since=1700,
            monitors=1,
        ),
    ]
    assert [c["sid"] for c in choose(floor, Filters(teams=("support",)), NOW)] == ["a", "c"]
    assert [c["sid"] for c in choose(floor, Filters(agent="TA"), NOW)] == ["b"]
    assert [c["sid"] for c in choose(floor, Filters(order="newest"), NOW)] == ["c", "b", "a"]
    assert [c["sid"] for c in choose(floor, Filters(order="agent"), NOW)] == ["a", "c", "b"]
    assert [c["sid"] for c in choose(floor, Filters(states=("hold",)), NOW)] == ["c"]
    nick = row(floor[0], NOW, mask=True)
    assert nick["speaking"] == "agent + customer"
    assert nick["customer"] == "+1 555-••••-4567"
    assert (NOW * 1000 - nick["started_ms"]) / 1000 == 1800  # the browser shows 30:00
    olga = row(floor[2], NOW, mask=False)
    assert (NOW * 1000 - olga["hold_ms"]) / 1000 == 100  # 1:40 on hold
    assert olga["monitoring"] == "s0 (listen)"
    assert olga["customer"] == "+1 555-123-4567"  # whole, written for people
    tiles = kpis(floor)
    assert (tiles["live"], tiles["waiting"], tiles["on_hold"], tiles["monitored"]) == (3, 1, 1, 1)
    # Someone hearing a call in a browser monitors it too (its Monitoring cell says so); a
    # call heard both ways counts once.
    heard = {str(floor[0]["sid"]): ["ana/tab1"], str(floor[2]["sid"]): ["ken/tab1"]}
    assert kpis(floor, heard)["monitored"] == 2
    assert tiles["oldest_call_ms"] == nick["started_ms"]
    assert mask_number("+15551234567", True) == "+1 555-••••-4567"


# -- over HTTP ---------------------------------------------------------------------------


class Watcher:
    """One board stream read in a thread, keeping every event it received."""

    open: ClassVar[list[Watcher]] = []  # closed after each test (see the `http` fixture)

    def __init__(self, http: httpx.Client, url: str) -> None:
        self.closed = False
        Watcher.open.append(self)
        self.events: list[ServerSentEvent] = []
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self._ready = threading.Event()
        self._response: httpx.Response | None = None
        self._http, self._url = http, url
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the stream did not answer"

    def _read(self) -> None:
        try:
            with connect_sse(self._http, "GET", self._url) as source:
                self._response = source.response
                self.status = source.response.status_code
                self.headers = dict(source.response.headers)
                self._ready.set()
                if self.status != 200:
                    return
                for event in source.iter_sse():
                    if self.closed:
                        break  # hang up (a board comes at least once a second)
                    if event.event and event.event != "ping":
                        self.events.append(event)
        except (httpx.HTTPError, OSError, RuntimeError):
            pass  # hung up by close()
        finally:
            self._ready.set()

    def close(self) -> None:
        self.hang_up()
        self._thread.join(5)

    def hang_up(self) -> None:
        """Ask the reading thread to stop (it does at its stream's next event)."""
        self.closed = True
        if self._response is not None:
            self._response.close()  # wakes the reading thread: its stream is gone

    def boards(self) -> list[dict[str, Any]]:
        return [json.loads(e.data) for e in self.events if e.event == "board"]


class Board:
    """What a browser holds: the view, built from whole messages and changes."""

    def __init__(self) -> None:
        self.version = 0
        self.rows: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []

    def apply(self, message: dict[str, Any]) -> None:
        if message["base"] is None:
            self.rows = {}
        else:
            assert message["base"] == self.version, "a change against a version I do not hold"
        self.rows.update(message["rows"])
        self.order = message["order"]
        self.rows = {sid: self.rows[sid] for sid in self.order}
        self.version = message["v"]


def ticket(http: httpx.Client, stream: str = "board") -> str:
    answer = http.post(f"/api/events/ticket?stream={stream}",
                       headers={"Authorization": f"Bearer {API_TOKEN}"})  # fmt: skip
    assert answer.status_code == 201, answer.text
    return str(answer.json()["ticket"])


@pytest.fixture
def wired(wiring: Callable[..., Wired]) -> Wired:
    # A quiet floor sends no board; a ping a second lets a watcher hang up quickly.
    return wiring(EARPIECE_SSE_PING_SECONDS="1")


@pytest.fixture
def http(wired: Wired) -> Iterator[httpx.Client]:
    assert wired.service.settings is not None
    with httpx.Client(base_url=wired.service.settings.base_url, timeout=10) as client:
        yield client
        # All hang up first: each one's thread ends at its stream's next ping, together.
        watchers, Watcher.open[:] = list(Watcher.open), []
        for watcher in watchers:
            watcher.hang_up()
        for watcher in watchers:
            watcher.close()


def wait_for(predicate: Any, seconds: float = 5.0) -> None:
    Wired.wait(predicate, seconds)


def test_a_view_arrives_whole_then_as_changes(wired: Wired, http: httpx.Client) -> None:
    wired.new_call("bob")  # sales-east
    call = wired.new_call("ivan")  # sales-west
    watcher = Watcher(http, f"/events/board?ticket={ticket(http)}&team=sales-west")
    assert watcher.status == 200
    assert watcher.headers["access-control-allow-origin"] == "*"
    assert watcher.headers["cache-control"] == "no-store"
    wait_for(lambda: watcher.boards())
    first = watcher.boards()[0]
    assert first["base"] is None
    assert [r["agent"] for r in first["rows"].values()] == ["ivan"]
    assert first["live"] == 2 and first["kpis"]["live"] == 2 and first["matched"] == 1
    assert watcher.events[0].event == "status" and json.loads(watcher.events[0].data)["ok"]

    wired.act(call["conference_sid"], "hold", call["customer_call_sid"])
    wait_for(lambda: any(r["state"] == "hold" for b in watcher.boards()
                         for r in b["rows"].values()))  # fmt: skip
    held = next(b for b in watcher.boards() if any(r["state"] == "hold"
                                                   for r in b["rows"].values()))  # fmt: skip
    assert held["base"] == held["v"] - 1, "an up-to-date watcher gets the change, not the view"
    assert held["kpis"]["on_hold"] == 1
    view = Board()
    for message in watcher.boards():
        view.apply(message)
    assert [r["state"] for r in view.rows.values()] == ["hold"]
    assert view.rows[call["conference_sid"]]["hold_ms"] is not None


def test_watchers_of_one_view_share_it_and_another_view_is_its_own(
    wired: Wired, http: httpx.Client
) -> None:
    wired.new_call("bob")
    board = wired.service.app.state.ctx.board
    same = [Watcher(http, f"/events/board?ticket={ticket(http)}&order=newest") for _ in range(3)]
    other = Watcher(http, f"/events/board?ticket={ticket(http)}&order=agent&limit=50")
    wait_for(lambda: all(w.boards() for w in [*same, other]))
    assert len(board.views) == 2
    assert board.watchers == 4
    wired.new_call("ivan")
    wait_for(lambda: all(len(w.boards()[-1]["order"]) == 2 for w in [*same, other]))
    # Each up-to-date watcher of the view got the very same bytes for the same version.
    last = {
        [e.data for e in w.events if e.event == "board"][-1]
        for w in same
        if w.boards()[-1]["base"] is not None
    }
    assert len(last) <= 1
    assert [r["agent"] for r in other.boards()[-1]["rows"].values()] in (
        ["bob", "ivan"], ["ivan"], ["bob"])  # a change holds only the rows that moved  # fmt: skip


def test_a_view_that_did_not_move_says_it_holds_as_of_each_pass(
    wired: Wired, http: httpx.Client
) -> None:
    """A quiet view sends no board, yet its watcher hears that the version it has still holds
    (issue 29: every watcher hears from its view at least once a second, quiet or not)."""
    wired.new_call("bob")
    watcher = Watcher(http, f"/events/board?ticket={ticket(http)}")
    wait_for(lambda: sum(e.event == "unchanged" for e in watcher.events) >= 2)
    version, at = None, 0
    for e in watcher.events:
        if e.event == "board":
            version = json.loads(e.data)["v"]
        elif e.event == "unchanged":
            held = json.loads(e.data)
            assert held["v"] == version, "it names the version the watcher has"
            assert held["at"] > at, "each pass once, in order"
            at = held["at"]


def test_a_ticket_opens_one_stream_once_and_bad_requests_are_refused(
    wired: Wired, http: httpx.Client
) -> None:
    t = ticket(http)
    assert Watcher(http, f"/events/board?ticket={t}").status == 200
    again = http.get(f"/events/board?ticket={t}")
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "unauthorized"
    assert http.get("/events/board?ticket=forged").status_code == 401
    assert http.get("/events/board").status_code == 401
    bad = http.get(f"/events/board?ticket={ticket(http)}&order=random")
    assert bad.status_code == 422 and "order" in bad.json()["error"]["message"]
    assert http.post("/api/events/ticket").status_code == 401
    # /events takes a ticket too (a browser's EventSource), once: one made for it.
    t = ticket(http, "events")
    with connect_sse(http, "GET", f"/events?ticket={t}") as source:
        assert source.response.status_code == 200
    assert http.get(f"/events?ticket={t}").status_code == 401
    # A ticket opens only the stream it was made for (issue 22), and says so.
    for made_for, opened in (("board", "/events"), ("events", "/events/board"),
                             ("board", "/events/transcript?sid=CF1"),
                             ("transcript", "/events/board")):  # fmt: skip
        joiner = "&" if "?" in opened else "?"
        with http.stream("GET", f"{opened}{joiner}ticket={ticket(http, made_for)}") as refused:
            assert refused.status_code == 401, (made_for, opened)
            assert f"made for the {made_for} stream" in refused.read().decode()
    unknown = http.post("/api/events/ticket?stream=everything",
                        headers={"Authorization": f"Bearer {API_TOKEN}"})  # fmt: skip
    assert unknown.status_code == 422 and "stream must be" in unknown.json()["error"]["message"]
    assert http.options("/events/board").headers["access-control-allow-origin"] == "*"


def test_a_row_is_reused_only_while_nothing_it_shows_moved() -> None:
    from live.board import Rows

    rows = Rows()
    quiet = conference("a", started=0)
    alerted = conference("b", started=0, alerts=("long-call",))
    first = {e.row["sid"]: e for e in rows.entries([quiet, alerted], NOW, True)}
    again = {e.row["sid"]: e for e in rows.entries([quiet, alerted], NOW + 1, True)}
    assert again["a"] is first["a"], "an unchanged call without alerts keeps its row"
    assert again["b"] is not first["b"], "a call with alerts is redone (its reasons tick)"
    assert again["b"].row["why"] != first["b"].row["why"]
    quiet["signals"] = {"holds": 1}
    assert rows.entries([quiet], NOW + 2, True)[0].row["holds"] == 1
    changed = dict(quiet, state="hold")  # a new document is a new rendering
    assert rows.entries([changed], NOW + 3, True)[0].row["state"] == "hold"


def test_a_page_following_one_call_hears_each_change_of_it_and_its_end(
    wired: Wired, http: httpx.Client
) -> None:
    call = wired.new_call("bob")
    sid = call["conference_sid"]
    wired.new_call("ivan")  # another call's changes are not this page's
    watcher = Watcher(http, f"/events/board?ticket={ticket(http)}&watch={sid}&board=off")

    def versions() -> list[Any]:
        return [json.loads(e.data)["v"] for e in watcher.events if e.event == "call"]

    wait_for(lambda: versions())
    wired.act(sid, "hold", call["customer_call_sid"])
    wait_for(lambda: len(versions()) >= 2)
    first, second = versions()[:2]
    assert isinstance(first, int) and second == first + 1
    wired.act(sid, "end")
    wait_for(lambda: versions()[-1] is None)
    assert not watcher.boards(), "board=off: no table"
    assert http.get(f"/events/board?ticket={ticket(http)}&watch=CF../x").status_code == 422
