"""The live board: what a watcher of the floor sees, as data, computed once per change.

A board *view* is the floor through one set of filters: which calls, in
which order, how many, each as a row of plain values. Everything that moves
with the clock alone (how long a call has lasted, how long it has been on
hold or silent) is sent as the epoch millisecond it started, so a browser
ticks it itself and the server does not recompute a view just because a
second passed. The order is live.attention's rule; nothing here is a
second copy of it.

Rows are plain strings and numbers: a name a caller or agent can influence
is never markup here, and the browser sets it as text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from core import phone
from core.folding import matches
from core.times import ms_of
from live import names, words
from live.attention import attention, held_since, rank
from live.numbers import plain_int

Conference = Mapping[str, Any]

# Order names as a query string carries them, and as a person reads them.
ORDERS: Mapping[str, str] = {
    "attention": "Needs attention first",
    "longest": "Longest call first",
    "newest": "Newest first",
    "agent": "Agent A to Z",
}
STATES = ("waiting", "talking", "hold")
LIMITS = (50, 100, 200, 500, 2000)
DEFAULT_LIMIT = 200
# Bounds on what a query string may ask for (each value is also checked against
# the roster's names by whoever builds the filters, but a hostile URL is bounded here).
MAX_CHOICES = 50
MAX_TEXT = 64


class BadFilters(ValueError):
    """A board query that cannot be a view; the message says which part, in one line."""


# Every field of a rendered call a view filters (Filters.keeps) or orders
# (live/board_floor.py `_view_key`) by: a kept call whose fields here did not change keeps its
# place in every view (live/board_floor.py `_place_key`). A new filter or order adds its field.
PLACED_BY = ("team", "queue", "state", "agent", "agent_name", "agent_reading", "started_at")


@dataclass(frozen=True, slots=True)
class Filters:
    teams: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    agent: str = ""
    order: str = "attention"
    limit: int = DEFAULT_LIMIT

    def keeps(self, c: Conference) -> bool:
        if self.teams and (c.get("team") or "") not in self.teams:
            return False
        if self.queues and (c.get("queue") or "") not in self.queues:
            return False
        if self.states and c.get("state") not in self.states:
            return False
        # What was typed, in any width or kana, against the agent's ID, name and reading.
        return matches(self.agent, c.get("agent"), c.get("agent_name"), c.get("agent_reading"))

    def query(self) -> list[tuple[str, str]]:
        """The filters as query parameters (`from_query` reads them back)."""
        pairs = [("team", t) for t in self.teams] + [("queue", q) for q in self.queues]
        pairs += [("state", s) for s in self.states]
        if self.agent:
            pairs.append(("agent", self.agent))
        return [*pairs, ("order", self.order), ("limit", str(self.limit))]

    @classmethod
    def from_query(cls, multi: Mapping[str, Sequence[str]]) -> Filters:
        """Filters from a query string's values (a list per name); BadFilters says what is off."""

        def choices(name: str) -> tuple[str, ...]:
            values = tuple(dict.fromkeys(v for v in multi.get(name, ()) if v))
            if len(values) > MAX_CHOICES or any(len(v) > MAX_TEXT for v in values):
                raise BadFilters(f"{name}: at most {MAX_CHOICES} values of {MAX_TEXT} characters")
            return tuple(sorted(values))

        def one(name: str, default: str) -> str:
            values = multi.get(name) or ()
            if len(values) > 1:
                raise BadFilters(f"{name} is given {len(values)} times")
            return values[0] if values else default

        states = choices("state")
        if set(states) - set(STATES):
            raise BadFilters(f"state must be among {', '.join(STATES)}")
        agent = one("agent", "").strip()
        if len(agent) > MAX_TEXT:
            raise BadFilters(f"agent: at most {MAX_TEXT} characters")
        wanted_order = one("order", "attention")
        if wanted_order not in ORDERS:
            raise BadFilters(f"order must be one of {', '.join(ORDERS)}")
        raw_limit = one("limit", str(DEFAULT_LIMIT))
        limit = plain_int(raw_limit)
        if limit is None or limit not in LIMITS:
            raise BadFilters(f"limit must be one of {', '.join(map(str, LIMITS))}")
        return cls(
            teams=choices("team"),
            queues=choices("queue"),
            states=states,
            agent=agent,
            order=wanted_order,
            limit=limit,
        )


def ms(stamp: str | None) -> int | None:
    """An ISO 8601 time as epoch milliseconds (what a browser's clock counts in)."""
    return _ms(stamp) if stamp else None


_ms = ms_of  # cached there: a floor's stamps repeat from one pass to the next


def mask_number(number: str | None, mask: bool, country: str | None = None) -> str:
    """A customer's number as people read it (core/phone.py): `03-••••-5678` masked,
    `03-1234-5678` whole, for a floor in `country`; international for any other."""
    return phone.shown(number, country, full=not mask)


def customer_number(c: Conference) -> str | None:
    for p in c.get("participants") or ():
        if p.get("role") == "customer":
            return str(p["number"]) if p.get("number") else None
    return None


def speaking(c: Conference) -> str:
    who = [p.get("role") for p in c.get("participants") or () if p.get("speaking")]
    return " + ".join(r for r in ("agent", "customer") if r in who)


def monitoring(c: Conference, browser: Iterable[str] = ()) -> str:
    """Who monitors: phone legs with their mode, then who hears it in a browser (issue 26)."""
    parts = []
    for m in c.get("monitors") or ():
        status = " · dialing" if m.get("status") == "dialing" else ""
        parts.append(f"{m['supervisor']} ({m['mode']}{status})")
    parts.extend(f"{who} (listen · browser)" for who in browser)
    return ", ".join(parts)


def monitors(c: Conference, browser: Iterable[str] = ()) -> list[dict[str, Any]]:
    """`monitoring` as codes, for a reader to write in its own words and names (the
    dashboard; a trial found "haruka (listen · browser)" on a Japanese board): each
    supervisor's id, mode, and whether the leg is still dialing or is a browser's."""
    shown: list[dict[str, Any]] = [
        {"id": m["supervisor"], "mode": m["mode"], "dialing": m.get("status") == "dialing",
         "browser": False}
        for m in c.get("monitors") or ()
    ]  # fmt: skip
    shown.extend(
        {"id": who, "mode": "listen", "dialing": False, "browser": True} for who in browser
    )
    return shown


def agent_talk(c: Conference) -> str:
    """The agent's share of the talking so far (a rep who talks 90% is not listening)."""
    share = ((c.get("signals") or {}).get("talk_share") or {}).get("agent")
    return f"{share:.0%}" if share is not None else ""


def alerts(c: Conference) -> str:
    """Help first and loud; the rest as they come."""
    names = list(c.get("alerts") or ())
    loud = ["HELP"] if "help" in names else []
    return " · ".join(loud + [a for a in names if a != "help"])


SAID_CHARS = 90  # the floor shows the start of a call's last line; its page shows it whole


def said(c: Conference) -> str:
    """The call's last transcript line, `customer: …` (already masked of card numbers)."""
    last = (c.get("transcript") or {}).get("last")
    if not last:
        return ""
    text = str(last.get("text") or "")
    cut = text if len(text) <= SAID_CHARS else text[: SAID_CHARS - 1] + "…"
    return f"{last.get('speaker')}: {cut}"


def row(
    c: Conference,
    now_s: float,
    mask: bool,
    country: str | None = None,
    browser: Iterable[str] = (),
) -> dict[str, Any]:
    """One call as the board shows it; `*_ms` fields are instants the browser ticks from;
    `browser`: who hears it in a browser (live/ears.py)."""
    need = attention(c, now_s)
    hold = held_since(c) if c.get("state") == "hold" else None
    signals = c.get("signals") or {}
    return {
        "sid": c["sid"],
        "agent": c.get("agent") or "—",
        "team": c.get("team") or "",
        "queue": c.get("queue") or "",
        "customer": mask_number(customer_number(c), mask, country),
        "agent_name": c.get("agent_name") or "",
        "state": c.get("state") or "",
        "started_ms": ms(c.get("started_at")),
        "hold_ms": ms(hold),
        "holds": signals.get("holds") or 0,
        "monitoring": monitoring(c, browser),
        "monitors": monitors(c, browser),
        "speaking": speaking(c),
        "talk": agent_talk(c),
        "silent_ms": ms(signals.get("silent_since")),
        "alerts": alerts(c),
        "said": said(c),
        "score": need.score,
        "why": "; ".join(need.reasons),
    }


@dataclass(slots=True)
class Entry:
    """One live call, worked out once per read of the floor and shared by every view."""

    conference: Conference
    row: dict[str, Any]
    wire: bytes  # the row as JSON, encoded once
    rank: tuple[int, int, str]  # live.attention's order
    # The row for a watcher who may not listen to the call: no "Last said", a phrase alert
    # without its phrase (live/words.py). Made once, by the first such watcher.
    now_s: float = 0.0
    mask: bool = True
    country: str | None = None
    browser: tuple[str, ...] = ()
    _hidden: bytes | None = None

    def wire_for(self, hears: bool) -> bytes:
        if hears or not words.has_words(self.conference):
            return self.wire
        if self._hidden is None:
            self._hidden = orjson.dumps(
                row(words.hidden(self.conference), self.now_s, self.mask, self.country)
            )
        return self._hidden


class Rows:
    """Each call's row, kept from one pass to the next while nothing it shows moved.

    The floor's read hands back the same rendering for a document that did not
    change, with its alerts and signals worked out anew. A call with no alert
    shows nothing that moves with the clock (its durations are instants), so
    its row and encoding are reused until the rendering, its alerts or its
    signals differ. A call with alerts is redone every pass: its reasons quote
    durations."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[Conference, Any, Any, Entry]] = {}
        # A number per live call that moves whenever its document or its alerts do:
        # what a page showing that one call waits on.
        self.versions: dict[str, int] = {}

    def entries(
        self,
        conferences: Iterable[Conference],
        now_s: float,
        mask: bool,
        country: str | None = None,
        browser: Mapping[str, Sequence[str]] | None = None,
    ) -> list[Entry]:
        kept, out = self._kept, []
        fresh: dict[str, tuple[Conference, Any, Any, Entry]] = {}
        versions: dict[str, int] = {}
        for c in conferences:
            sid = c["sid"]
            ears = tuple((browser or {}).get(sid, ()))
            alerts, shown = c.get("alerts"), (_shown_signals(c), ears)
            hit = kept.get(sid)
            # A waiting caller's rank grows with their wait (live.attention): redone every pass.
            if (
                hit is not None
                and hit[0] is c
                and not alerts
                and not hit[1]
                and hit[2] == shown
                and c.get("state") != "waiting"
            ):
                entry = hit[3]
            else:
                entry = _entry(c, now_s, mask, country, ears)
            if (
                hit is None
                or hit[0] is not c
                or hit[3].row["alerts"] != entry.row["alerts"]
                or hit[2][1] != ears
            ):
                versions[sid] = self.versions.get(sid, 0) + 1
            else:
                versions[sid] = self.versions[sid]
            fresh[sid] = (c, bool(alerts), shown, entry)
            out.append(entry)
        self._kept = fresh  # only what is live: bounded by the floor
        self.versions = versions
        return out


def _shown_signals(c: Conference) -> tuple[Any, ...]:
    """The signals a row shows (the rest, such as seconds of silence so far, tick)."""
    signals = c.get("signals") or {}
    share = (signals.get("talk_share") or {}).get("agent")
    return signals.get("holds"), share, signals.get("silent_since")


def _entry(
    c: Conference,
    now_s: float,
    mask: bool,
    country: str | None = None,
    browser: Iterable[str] = (),
) -> Entry:
    r = row(c, now_s, mask, country, browser)
    return Entry(
        c,
        r,
        orjson.dumps(r),
        rank(r["score"], c.get("state"), c.get("started_at")),
        now_s,
        mask,
        country,
        tuple(browser),
    )


def entries(
    conferences: Iterable[Conference], now_s: float, mask: bool, country: str | None = None
) -> list[Entry]:
    return [_entry(c, now_s, mask, country) for c in conferences]


def select(all_entries: Iterable[Entry], filters: Filters) -> list[Entry]:
    """The entries the filters keep, in the order asked for (all of them: the caller cuts)."""
    kept = [e for e in all_entries if filters.keeps(e.conference)]
    if filters.order == "longest":
        kept.sort(key=lambda e: e.conference.get("started_at") or "")
    elif filters.order == "newest":
        kept.sort(key=lambda e: e.conference.get("started_at") or "", reverse=True)
    elif filters.order == "agent":
        # By reading, else by name's collation (live/names.py); calls with no agent last.
        kept.sort(
            key=lambda e: (
                not e.conference.get("agent"),
                agent_key(e.conference),
                e.conference.get("started_at") or "",
            )
        )
    else:
        kept.sort(key=lambda e: e.rank)
    return kept


def agent_key(c: Conference) -> tuple[int, ...]:
    person = names.Person(c.get("agent") or "", c.get("agent_name"), c.get("agent_reading"))
    return names.sort_key(person)


def control_key(r: Mapping[str, Any]) -> str:
    """What a chosen call's controls depend on (the browser computes the same from the row):
    when it changes, the dashboard redraws the call's buttons."""
    return "|".join(str(r.get(k) or "") for k in ("agent", "state", "monitoring", "alerts"))


def help_key(asking: Iterable[Mapping[str, Any]]) -> str:
    """Who asks for help, as the browser spells it: a change redraws the help banner."""
    return ",".join(sorted(f"{h['sid']}@{h['since']}" for h in asking))


def choose(conferences: Iterable[Conference], filters: Filters, now_s: float) -> list[Conference]:
    """The conferences the filters keep, in the order asked for."""
    return [e.conference for e in select(entries(conferences, now_s, True), filters)]


def kpis(
    conferences: Iterable[Conference], browser: Mapping[str, Sequence[str]] | None = None
) -> dict[str, Any]:
    """The tiles above the table, for the whole floor; the longest ones as instants to tick from.
    Monitored: a supervisor on the call by phone, or hearing it in a browser (`browser`, by
    conference: live/ears.py), as its Monitoring cell says."""
    ears = browser or {}
    live = waiting = on_hold = monitored = 0
    oldest: str | None = None
    oldest_waiting: str | None = None
    for c in conferences:
        live += 1
        started = c.get("started_at")
        state = c.get("state")
        if started and (oldest is None or started < oldest):
            oldest = started
        if state == "waiting":
            waiting += 1
            if started and (oldest_waiting is None or started < oldest_waiting):
                oldest_waiting = started
        elif state == "hold":
            on_hold += 1
        if c.get("monitors") or ears.get(c["sid"]):
            monitored += 1
    return {
        "live": live,
        "waiting": waiting,
        "on_hold": on_hold,
        "monitored": monitored,
        "oldest_call_ms": ms(oldest),
        "oldest_wait_ms": ms(oldest_waiting),
    }


def asking_for_help(conferences: Iterable[Conference]) -> list[dict[str, Any]]:
    """Who asks for help now, whatever a watcher filters: the help cue is for everyone."""
    return [
        {
            "sid": c["sid"],
            "agent": (c.get("help") or {}).get("agent") or c.get("agent") or "",
            "since": (c.get("help") or {}).get("since"),
        }
        for c in conferences
        if c.get("help")
    ]


def phrase_alerts(conferences: Iterable[Conference]) -> list[dict[str, Any]]:
    """Calls whose team phrase was said and not muted: the help cue's other way of getting
    a supervisor's attention (a toast, a chime and a banner on every floor)."""
    out = []
    for c in conferences:
        if "phrase" not in (c.get("alerts") or ()):
            continue
        loud = [h for h in c.get("phrases") or () if not h.get("muted")]
        if loud:
            newest = max(loud, key=lambda h: (h.get("line") or {}).get("at") or "")
            out.append(
                {
                    "sid": c["sid"],
                    "agent": c.get("agent") or "",
                    "since": (newest.get("line") or {}).get("at"),
                    "phrase": newest.get("phrase"),
                }
            )
    return out


def cues(conferences: Iterable[Conference]) -> list[dict[str, Any]]:
    """Everything the floor rings for: help requests, then phrase alerts (`phrase` set)."""
    listed = list(conferences)
    return asking_for_help(listed) + phrase_alerts(listed)


def monitors_by_supervisor(conferences: Iterable[Conference]) -> dict[str, dict[str, Any]]:
    """Each supervisor's own leg: the call, the mode and whether it is connected."""
    out: dict[str, dict[str, Any]] = {}
    for c in conferences:
        for m in c.get("monitors") or ():
            out[str(m["supervisor"])] = {
                "sid": c["sid"],
                "mode": m.get("mode"),
                "status": m.get("status"),
            }
    return out
