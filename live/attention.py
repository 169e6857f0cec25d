"""Which live call needs a supervisor first: the floor's "needs attention" order.

One rule, used by the API (`?order=attention`) and the dashboard alike. Each
alert has a weight (a customer stranded outranks a long call); a call with
several alerts adds them up; among equal scores the longer-waiting, then the
longer call comes first. The reasons say what makes the score, for the
dashboard's hover text.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from core.times import ms_of

# Alert weights: how urgently each one calls for a supervisor.
WEIGHTS: Mapping[str, int] = {
    "help": 100,
    # A team phrase said on the call ("speak to your manager", "lawyer"): a customer about
    # to escalate or leave, just under a stranded one (issue 15).
    "phrase": 75,
    "customer-alone": 90,
    "agent-alone": 80,
    "duplicate": 70,
    "long-hold": 60,
    "dead-air": 40,
    "overtalk": 25,
    "long-call": 20,
    # A TaskRouter floor's queues and agents (issue 12), on the same scale: callers waiting
    # while agents sit free is nearly a stranded customer; a long wait, a long hold.
    "routing-stuck": 85,
    "long-wait": 60,
    "service-level": 30,
    "long-wrap-up": 20,
    "long-away": 10,
}
UNKNOWN_ALERT_WEIGHT = 10
# The alerts a call can raise (the rest are a queue's or an agent's): what the archive
# keeps of a call and what its search filters by.
CALL_ALERTS = ("help", "phrase", "customer-alone", "agent-alone", "long-hold", "dead-air",
               "long-wait", "overtalk", "long-call", "duplicate")  # fmt: skip

REASONS: Mapping[str, str] = {
    "help": "{agent} asked for help",
    "phrase": "the call said {phrase}",
    "customer-alone": "the customer is alone on the line",
    "agent-alone": "the agent is alone on the line",
    "duplicate": "a duplicate conference holds a lone participant",
    "long-hold": "on hold for {hold}",
    "dead-air": "nobody has spoken for {silence}",
    "overtalk": "agent and customer talk over each other",
    "long-call": "the call has lasted {duration}",
    "long-wait": "the caller has waited {wait}",
    "waiting": "the caller has waited {wait}",
}

# A caller waiting for an agent ranks by how far into the wait threshold they are
# (issue 28: callers waiting 3:29 ranked below every dead-air call): at the threshold
# as a long wait, two thirds of the way as dead air, and at one and a half times it
# as a stranded customer, no higher (an agent asking for help still comes first).
WAIT_CAP = WEIGHTS["customer-alone"]


def waiting_score(wait_share: float) -> int:
    """The score of a caller `wait_share` of the way into their queue's wait threshold."""
    return min(WAIT_CAP, round(WEIGHTS["long-wait"] * max(0.0, wait_share)))


@dataclass(frozen=True, slots=True)
class Attention:
    score: int
    reasons: tuple[str, ...]


def seconds_since(stamp: str | None, now_s: float) -> float:
    if not stamp:
        return 0.0
    return max(0.0, now_s - ms_of(stamp) / 1000)


def clock(seconds: float) -> str:
    """1:05, 12:40, 1:02:03: how long, the way a floor shows it."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def held_since(conference: Mapping[str, Any]) -> str | None:
    """When the longest-held participant (not a supervisor) went on hold."""
    stamps = [
        p["hold_since"]
        for p in conference.get("participants") or ()
        if p.get("hold") and p.get("hold_since") and p.get("role") != "supervisor"
    ]
    return min(stamps) if stamps else None


NOTHING = Attention(0, ())


def score(alerts: Iterable[str]) -> int:
    """The needs-attention score of a set of alerts (a call's, a queue's or an agent's)."""
    return sum(WEIGHTS.get(a, UNKNOWN_ALERT_WEIGHT) for a in alerts)


class _Values(dict[str, str]):
    """What the reasons quote, each worked out only when a reason asks for it (a board
    pass asks for thousands of rows, most with one reason)."""

    def __init__(self, conference: Mapping[str, Any], signals: Mapping[str, Any], now_s: float):
        super().__init__()
        self.conference, self.signals, self.now_s = conference, signals, now_s

    def __missing__(self, key: str) -> str:
        c, now_s = self.conference, self.now_s
        if key == "hold":
            value = clock(seconds_since(held_since(c), now_s))
        elif key == "duration":
            value = clock(seconds_since(c.get("started_at"), now_s))
        elif key == "silence":
            value = clock(seconds_since(self.signals.get("silent_since"), now_s))
        elif key == "wait":
            value = clock(seconds_since(self.signals.get("waiting_since"), now_s))
        elif key == "agent":
            value = c.get("agent") or "the agent"
        elif key == "phrase":
            # Each phrase once, however often it was said (issue 28: the Why column repeated
            # "cancel my account" nine times); a hit whose words are hidden (null:
            # live/words.py) is not named.
            said = (
                f"“{h['phrase']}”"
                for h in c.get("phrases") or ()
                if not h.get("muted") and h.get("phrase")
            )
            value = ", ".join(dict.fromkeys(said)) or "a phrase"
        else:
            raise KeyError(key)
        self[key] = value
        return value


def score_of(conference: Mapping[str, Any]) -> int:
    """`attention(conference).score` alone, its reasons not worked out (a floor kept between
    reads ranks every changed call, and writes the reasons of the few it shows)."""
    alerts = conference.get("alerts") or ()
    signals = conference.get("signals") or {}
    share = signals.get("wait_share") if conference.get("state") == "waiting" else None
    total = _score_of_alerts(tuple(alerts))
    return total + waiting_score(float(share)) if share is not None else total


@functools.lru_cache(maxsize=1024)
def _score_of_alerts(alerts: tuple[str, ...]) -> int:
    """A floor has a few dozen distinct sets of alerts: each one added up once."""
    return score(a for a in alerts if a != "long-wait")


def attention(conference: Mapping[str, Any], now_s: float) -> Attention:
    alerts = list(conference.get("alerts") or ())
    signals = conference.get("signals") or {}
    share = signals.get("wait_share") if conference.get("state") == "waiting" else None
    if not alerts and share is None:
        return NOTHING  # most calls: no durations to format (the board asks for every call)
    total = score_of(conference)
    if share is not None and "long-wait" not in alerts:
        alerts.append("waiting")  # a reason, not an alert: the wait so far
    values = _Values(conference, signals, now_s)
    reasons = tuple(REASONS.get(a, a).format_map(values) for a in alerts)
    return Attention(total, reasons)


# The durations a reason may quote, as `why_pieces` numbers them.
CLOCKED = ("hold", "duration", "silence", "wait")
_FORMATTER = string.Formatter()

WhyPieces = tuple[str | int, ...]


def why_pieces(conference: Mapping[str, Any]) -> WhyPieces | None:
    """`attention(conference, now_s)`'s reasons joined as a row's "why", with what does not
    move with the clock worked out once: text, and in place of each duration its number in
    `CLOCKED` (`why_at` fills them in). A board's rows with alerts quote durations that
    tick each second, all at the same instant: a pass that redoes hundreds of them
    redoes only these. None when a reason's template is not one this can follow (a
    conversion or a format spec: no template of REASONS has one)."""
    alerts = list(conference.get("alerts") or ())
    signals = conference.get("signals") or {}
    waiting = conference.get("state") == "waiting" and signals.get("wait_share") is not None
    if waiting and "long-wait" not in alerts:
        alerts.append("waiting")
    values = _Values(conference, signals, 0.0)  # asked only for what does not tick
    pieces: list[str | int] = []
    for n, alert in enumerate(alerts):
        if n:
            pieces.append("; ")
        for text, name, spec, conversion in _FORMATTER.parse(REASONS.get(alert, alert)):
            if text:
                pieces.append(text)
            if name is None:
                continue
            if spec or conversion:
                return None
            pieces.append(CLOCKED.index(name) if name in CLOCKED else values[name])
    return tuple(pieces)


def why_at(pieces: WhyPieces, seconds: Sequence[int | None]) -> str:
    """The "why" of `why_pieces`, its durations `seconds` (whole seconds since each of
    CLOCKED's instants; None: no such instant, quoted as 0:00 as `seconds_since` has it)."""
    return "".join(p if isinstance(p, str) else clock(seconds[p] or 0) for p in pieces)


C = TypeVar("C", bound=Mapping[str, Any])


def rank(score: int, state: str | None, started_at: str | None) -> tuple[int, int, str]:
    """The sort key of the needs-attention order: score, then waiting calls, then the oldest."""
    return (-score, 0 if state == "waiting" else 1, started_at or "")


def order(conferences: Iterable[C], now_s: float) -> list[C]:
    """Needs-attention first: score, then waiting calls, then the oldest call."""
    return sorted(
        conferences,
        key=lambda c: rank(attention(c, now_s).score, c.get("state"), c.get("started_at")),
    )
