"""From a stored conference document to the Conference JSON of the contract.

The document is what live/apply.lua keeps (raw flags and their sequence
bookkeeping); everything a reader sees — role from the label, the call
`state`, team and queue from the roster, alerts — is derived here, once, for
the API, the SSE feed and the dashboard alike.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from core.documents import Card, Conference, Monitor, Participant, Stored, conference_of
from core.times import iso
from live.roster import Roster
from live.transcript_view import transcript_state

# The JSON this module answers (the contract's Conference and its parts).
Json = dict[str, Any]


@dataclass(frozen=True)
class Thresholds:
    """When a live call needs a supervisor (seconds); each is a setting, and a team
    may override any of them in the roster ([teams.NAME.alerts])."""

    long_hold: float = 60.0
    long_call: float = 600.0
    dead_air: float = 15.0
    overtalk: float = 3.0
    # A caller waiting for an agent this long is a long wait: the queue's wait threshold
    # (EARPIECE_QUEUE_WAIT_ALERT_SECONDS), against which waiting calls are ranked (issue 28).
    long_wait: float = 60.0

    def for_team(self, overrides: Mapping[str, float] | None) -> Thresholds:
        return replace(self, **overrides) if overrides else self


def limits_for(team: str | None, roster: Roster, base: Thresholds) -> Thresholds:
    found = roster.teams.get(team) if team else None
    return base.for_team(found.alerts) if found is not None else base


@functools.lru_cache(maxsize=8192)
def role_of(label: str | None) -> tuple[str, str | None]:
    """(`customer` | `agent` | `supervisor` | `unknown`, the id after the colon).

    Cached: a floor has a few hundred distinct labels, read thousands of times."""
    if not label:
        return "unknown", None
    if label == "customer":
        return "customer", None
    kind, sep, ident = label.partition(":")
    if sep and ident and kind in ("agent", "supervisor"):
        return kind, ident
    return "unknown", None


def participant_json(p: Participant, role: str, agent_leg: str | None = None) -> Json:
    hold = bool(p.get("hold"))
    coaching = bool(p.get("coaching"))
    return {
        "call_sid": p["call_sid"],
        "label": p.get("label"),
        "role": role,
        "muted": bool(p.get("muted")),
        "hold": hold,
        "coaching": coaching,
        # Not in Twilio's callbacks: the target Earpiece learnt from the Participant
        # resource, else the call's agent, the only leg Earpiece ever coaches.
        "call_sid_to_coach": (p.get("coached_call_sid") or agent_leg) if coaching else None,
        "joined_at": iso(p.get("joined")),
        "speaking": bool(p.get("speaking")),
        "hold_since": iso(p.get("hold_since")) if hold else None,
        # The customer's number, once read from Twilio (coach.actions.on_customer_joined).
        "number": p.get("number") or None,
    }


def monitor_json(m: Monitor) -> Json:
    """A supervisor's monitor (CONTRACT.md), plus `note` when something changed it on its own."""
    return {
        "supervisor": m["supervisor"],
        "conference_sid": m["conference_sid"],
        "call_sid": m.get("call_sid") or None,
        "mode": m["mode"],
        "since": iso(m.get("since")),
        "status": m.get("status", "dialing"),
        "note": m.get("note") or None,
    }


def customer_leg(conference: Mapping[str, Any]) -> str | None:
    """The customer's CallSid on a rendered Conference, if one is on the call."""
    return next(
        (
            p["call_sid"]
            for p in conference.get("participants") or ()
            if p.get("role") == "customer"
        ),
        None,
    )


def present_participants(doc: Conference) -> list[Participant]:
    people = [p for p in doc["participants"].values() if p.get("present")]
    people.sort(key=lambda p: (p.get("joined") or 0, p["call_sid"]))
    return people


def call_state(people: list[Participant], roles: list[str]) -> str:
    """waiting: no customer-and-agent pair yet; hold: someone on the call is held; else talking."""
    if "customer" not in roles or "agent" not in roles:
        return "waiting"
    held = any(p.get("hold") for p, role in zip(people, roles, strict=True) if role != "supervisor")
    return "hold" if held else "talking"


class AlertClock(NamedTuple):
    """What a live call's time-dependent alerts and signals depend on: they change as
    time passes, with no new callback, so they are recomputed on every read (and the
    service's ticker announces alerts that changed, callbacks/app.py)."""

    started: int | None
    held_since: int | None  # the longest-held participant's hold start
    alone: str | None = None  # customer-alone | agent-alone
    alone_since: int | None = None
    silent_since: int | None = None  # customer and agent on, nobody speaking, not on hold
    waiting_since: int | None = None  # a customer on, no agent has been on the call yet
    overtalk_since: int | None = None  # customer and agent both speaking
    help: bool = False
    phrase: bool = False  # a team phrase was said on the call, and no supervisor muted it
    holds: int = 0
    hold_total_ms: int = 0
    # (role, talk ms so far, speaking since) for the customer and agent legs
    talkers: tuple[tuple[str, int, int | None], ...] = ()
    speaking: tuple[str, ...] = ()
    # Talk totals while nobody speaks do not move: worked out once (shared, read-only).
    talk_fixed: tuple[dict[str, float], dict[str, float]] | None = None

    @classmethod
    def of(
        cls, doc: Conference, people: list[Participant], roles: list[str], phrase: bool = False
    ) -> AlertClock:
        # One pass over the legs on the call and one over everyone who was: a kept floor
        # makes a clock for every change it is given (bench/render_cost.py).
        held: list[int] = []
        pair: list[tuple[Participant, str]] = []  # the customer and agent legs
        spoke: set[str] = set()  # their roles speaking now
        talkers: list[tuple[str, int, int | None]] = []
        customer_joined: list[int] = []
        for p, r in zip(people, roles, strict=True):
            if r == "supervisor":
                continue
            if p.get("hold") and (since := p.get("hold_since")):
                held.append(since)
            if r != "customer" and r != "agent":
                continue
            pair.append((p, r))
            speaking_now = bool(p.get("speaking"))
            if speaking_now:
                spoke.add(r)
            talkers.append(
                (r, int(p.get("talk") or 0), p.get("speech_at") if speaking_now else None)
            )
            if r == "customer":
                customer_joined.append(p.get("joined") or 0)
        alone, since = alone_since(doc, people, roles)
        both = bool(customer_joined) and len(customer_joined) < len(pair)
        # Silence is known only where speech events flow (issue 28): a conference not
        # subscribed to `speaker` events (a TaskRouter conference instruction without it,
        # a call made elsewhere) sends none, and would otherwise read as dead air for its
        # whole life. A speech event seen from anyone on the call, present or gone, says
        # they flow (the `speaker` group is sent only when subscribed:
        # https://www.twilio.com/docs/voice/twiml/conference#attributes-statusCallbackEvent).
        heard = agent_ever = False
        hold_total = 0
        for p in doc["participants"].values():
            heard = heard or bool(p.get("speech_at"))
            agent_ever = agent_ever or role_of(p.get("label"))[0] == "agent"
            hold_total += int(p.get("hold_total") or 0)
        silent = overtalk = waiting = None
        if both and heard and not held and not spoke:
            silent = (
                max(
                    [p.get("speech_at") or 0 for p, _ in pair]
                    + [p.get("joined") or 0 for p, _ in pair]
                )
                or None
            )
        if customer_joined and not agent_ever:
            waiting = min(customer_joined) or None
        if both and len(spoke) == 2:
            overtalk = max(p.get("speech_at") or 0 for p, _ in pair if p.get("speaking")) or None
        speaking_roles = tuple(sorted(r for r, _, since in talkers if since))
        frozen_talkers = tuple(talkers)
        return cls(
            started=doc.get("started"),
            held_since=min(held) if held else None,
            alone=alone,
            alone_since=since,
            silent_since=silent,
            waiting_since=waiting,
            overtalk_since=overtalk,
            help=bool(doc.get("help")),
            phrase=phrase,
            holds=int(doc.get("holds") or 0),
            hold_total_ms=hold_total,
            talkers=frozen_talkers,
            speaking=speaking_roles,
            # Made once here rather than by a second clock: a kept floor makes a clock for
            # every change it is given.
            talk_fixed=None if speaking_roles else _talk(frozen_talkers, 0),
        )

    def alerts(self, now_ms: int, limits: Thresholds) -> list[str]:
        alerts: list[str] = []
        if self.help:
            alerts.append("help")
        if self.phrase:
            alerts.append("phrase")
        if self.alone is not None:
            alerts.append(self.alone)
        if self.held_since is not None and now_ms - self.held_since >= limits.long_hold * 1000:
            alerts.append("long-hold")
        if self.silent_since is not None and now_ms - self.silent_since >= limits.dead_air * 1000:
            alerts.append("dead-air")
        if (
            self.overtalk_since is not None
            and now_ms - self.overtalk_since >= limits.overtalk * 1000
        ):
            alerts.append("overtalk")
        if self.started is not None and now_ms - self.started >= limits.long_call * 1000:
            alerts.append("long-call")
        waited = now_ms - self.waiting_since if self.waiting_since is not None else None
        if waited is not None and waited >= limits.long_wait * 1000:
            alerts.append("long-wait")
        return alerts

    def next_change(self, now_ms: int, limits: Thresholds) -> int | None:
        """The first instant after `now_ms` at which `alerts` changes with no new callback
        (a duration crosses its threshold); None when none will. A reader that keeps the
        floor between reads (live/board_floor.py) works a call's alerts out again then,
        rather than every call's on every read."""
        later = [
            math.ceil(since + limit * 1000)
            for since, limit in (
                (self.held_since, limits.long_hold),
                (self.silent_since, limits.dead_air),
                (self.overtalk_since, limits.overtalk),
                (self.started, limits.long_call),
                (self.waiting_since, limits.long_wait),
            )
            if since is not None and since + limit * 1000 > now_ms
        ]
        return min(later) if later else None

    def _talk(self, now_ms: int) -> tuple[dict[str, float], dict[str, float]]:
        return _talk(self.talkers, now_ms)

    def signals(self, now_ms: int, limits: Thresholds | None = None) -> Json:
        """Speech and hold signals of the call at `now_ms` (CONTRACT extension).

        Runs on every read of every call: what does not move with the clock
        (who speaks, talk totals while nobody speaks) is worked out once per
        document, when the clock is made."""
        talk_seconds, talk_share = self.talk_fixed or self._talk(now_ms)
        held_now = now_ms - self.held_since if self.held_since is not None else 0
        silence = None
        if self.silent_since is not None:
            silence = round((now_ms - self.silent_since) / 1000)
        return {
            "speaking": list(self.speaking),
            "talk_seconds": talk_seconds,
            "talk_share": talk_share,
            "silent_since": iso(self.silent_since),
            "silence_seconds": silence,
            "overtalk": self.overtalk_since is not None,
            "holds": self.holds,
            "hold_seconds": round((self.hold_total_ms + max(0, held_now)) / 1000),
            # A caller waiting for their first agent: since when, and how far into the wait
            # threshold (1.0 at it), the measure waiting calls are ranked by (live/attention).
            "waiting_since": iso(self.waiting_since),
            "wait_share": round((now_ms - self.waiting_since) / (limits.long_wait * 1000), 3)
            if self.waiting_since is not None and limits is not None and limits.long_wait > 0
            else None,
        }


def _talk(
    talkers: tuple[tuple[str, int, int | None], ...], now_ms: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Talk seconds and shares per role at `now_ms` (AlertClock.talkers)."""
    talk: dict[str, int] = {}
    for role, spoken, since in talkers:
        current = now_ms - since if since is not None and now_ms > since else 0
        talk[role] = talk.get(role, 0) + spoken + current
    total = sum(talk.values())
    share = {r: round(v / total, 2) for r, v in talk.items()} if total else {}
    return {r: round(v / 1000, 1) for r, v in talk.items()}, share


def help_json(doc: Conference) -> Json | None:
    raw = doc.get("help")
    if not raw:
        return None
    return {"agent": raw.get("agent"), "call_sid": raw.get("call_sid"), "since": iso(raw.get("at"))}


def card_json(card: Card) -> Json:
    return {
        "conference_sid": card.get("conference_sid"), "call_sid": card.get("call_sid"),
        "supervisor": card.get("supervisor"), "text": card.get("text"), "at": iso(card.get("at")),
        "agent": card.get("agent") or None,
    }  # fmt: skip


def cards_json(doc: Conference) -> list[Json]:
    return [card_json(c) for c in doc.get("cards") or ()]


def alone_since(
    doc: Conference, people: list[Participant], roles: list[str] | None = None
) -> tuple[str | None, int | None]:
    """Whether one side of the call is alone (FIELD-NOTES 2 and 4), and since when.

    customer-alone: the customer is still on, and every agent who was there
    has left (a customer who has not met an agent yet is waiting, not alone).
    agent-alone: an agent is on and no customer is (the customer left, or a
    busy answer left the agent in a conference of their own). Supervisors do
    not count as company, except one barging, who is talking to the customer.
    """
    if roles is None:
        roles = [role_of(p.get("label"))[0] for p in people]
    barging = {m.get("call_sid") for m in doc["monitors"].values() if m.get("mode") == "barge"}
    customers = [p for p, r in zip(people, roles, strict=True) if r == "customer"]
    agents = [
        p
        for p, r in zip(people, roles, strict=True)
        if r == "agent" or (r == "supervisor" and p["call_sid"] in barging)
    ]
    gone = [
        (p, left)
        for p in doc["participants"].values()
        if not p.get("present") and (left := p.get("left"))
    ]
    if customers and not agents:
        lefts = [left for p, left in gone if role_of(p.get("label"))[0] == "agent"]
        return ("customer-alone", max(lefts)) if lefts else (None, None)
    if agents and not customers:
        since = [min(p.get("joined") or 0 for p in agents)]
        since += [left for p, left in gone if role_of(p.get("label"))[0] == "customer"]
        return "agent-alone", max(since)
    return None, None


def conference_json(doc: Stored, roster: Roster, now_ms: int, limits: Thresholds) -> Json:
    return decoded_json(conference_of(doc), roster, now_ms, limits)


def decoded_json(doc: Conference, roster: Roster, now_ms: int, limits: Thresholds) -> Json:
    """conference_json, of a document already decoded."""
    rendered, clock = render_conference(doc, roster)
    if clock is not None:
        own = limits_for(rendered["team"], roster, limits)
        rendered["alerts"] = clock.alerts(now_ms, own)
        rendered["signals"] = clock.signals(now_ms, own)
    return rendered


def agent_name(roster: Roster, agent: str | None) -> str | None:
    known = roster.agent_names.get(agent) if agent else None
    return known.name if known is not None else None


def agent_reading(roster: Roster, agent: str | None) -> str | None:
    known = roster.agent_names.get(agent) if agent else None
    return known.reading if known is not None else None


def render_with_clock(stored: Stored, roster: Roster) -> tuple[Json, AlertClock | None]:
    """The Conference JSON of a stored document without its alerts, and what the alerts
    depend on (None for an ended conference, which has none)."""
    return render_conference(conference_of(stored), roster)


def render_conference(doc: Conference, roster: Roster) -> tuple[Json, AlertClock | None]:
    """render_with_clock, of a document already decoded."""
    if doc.get("status") == "completed":
        # An ended call keeps who it was (issue 28: "No agent yet · —"): its (first) agent,
        # and their team and queue.
        everyone = sorted(doc["participants"].values(), key=lambda p: p.get("joined") or 0)
        agent = next(
            (
                ident
                for kind, ident in (role_of(p.get("label")) for p in everyone)
                if kind == "agent"
            ),
            None,
        )
        team = roster.team_for(agent)
        return {
            "sid": doc["sid"], "friendly_name": doc.get("friendly_name") or "",
            "status": "completed", "started_at": iso(doc.get("started")),
            "updated_at": iso(doc.get("updated")), "ended_at": iso(doc.get("ended")),
            "state": "ended",
            "team": team.name if team else None, "queue": team.queue if team else None,
            "agent": agent, "agent_name": agent_name(roster, agent),
            "agent_reading": agent_reading(roster, agent),
            "participants": [], "monitors": [], "alerts": [], "alone_since": None,
            "signals": None, "help": None, "cards": cards_json(doc),
            "task_sid": doc.get("task_sid"),
            "transcript": transcript_state(doc, ())[0], "phrases": [],
        }, None  # fmt: skip
    people = present_participants(doc)
    parsed = [role_of(p.get("label")) for p in people]
    roles = [role for role, _ in parsed]
    agent = next((ident for role, ident in parsed if role == "agent"), None)
    agent_leg = next(
        (p["call_sid"] for p, r in zip(people, roles, strict=True) if r == "agent"), None
    )
    team = roster.team_for(agent)
    transcript, phrases = transcript_state(doc, team.phrases if team else ())
    clock = AlertClock.of(doc, people, roles, phrase=any(not h["muted"] for h in phrases))
    return {
        "sid": doc["sid"],
        "friendly_name": doc.get("friendly_name") or "",
        "status": doc.get("status", "init"),
        "started_at": iso(doc.get("started")),
        "updated_at": iso(doc.get("updated")),
        "ended_at": None,
        "state": call_state(people, roles),
        "team": team.name if team else None,
        "queue": team.queue if team else None,
        "agent": agent,
        # Who the agent is to people ([agents.ID] name in the roster), when the roster says.
        "agent_name": agent_name(roster, agent),
        "agent_reading": agent_reading(roster, agent),
        "participants": [
            participant_json(p, r, agent_leg) for p, r in zip(people, roles, strict=True)
        ],
        "monitors": [monitor_json(m) for _, m in sorted(doc["monitors"].items())],
        "alerts": [],
        "alone_since": iso(clock.alone_since),
        "signals": None,
        "help": help_json(doc),
        "cards": cards_json(doc),
        # The TaskRouter task this conference is for (issue 12), when TaskRouter made it.
        "task_sid": doc.get("task_sid"),
        # Its live transcript (issue 15): state and last line; the team's phrases said.
        "transcript": transcript,
        "phrases": phrases,
    }, clock


UNREADABLE = "unreadable"


def unreadable(sid: str) -> Json:
    """The row of a conference whose document cannot be rendered (a bug, or nonsense that a
    signed callback slipped past the checks): flagged with the `unreadable` alert, so the
    rest of the floor shows as usual and a supervisor can still see and end the call."""
    return {
        "sid": sid, "friendly_name": "", "status": "in-progress", "started_at": None,
        "updated_at": None, "ended_at": None, "state": "waiting", "team": None, "queue": None,
        "agent": None, "participants": [], "monitors": [], "alerts": [UNREADABLE],
        "alone_since": None, "signals": None, "help": None, "cards": [], "task_sid": None,
        "transcript": None, "phrases": [],
    }  # fmt: skip


def mark_duplicates(conferences: list[Json]) -> None:
    """FIELD-NOTES 4: a FriendlyName live twice, where one of them holds a lone
    participant, gets the `duplicate` alert on the lone one (in place)."""
    by_name: dict[str, list[Json]] = {}
    for c in conferences:
        if c["friendly_name"]:
            by_name.setdefault(c["friendly_name"], []).append(c)
    for group in by_name.values():
        if len(group) < 2:
            continue
        for c in group:
            if len(c["participants"]) == 1:
                c["alerts"].append("duplicate")
