"""Twilio's connection overrides: a webhook URL's fragment says how it is delivered.

https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides :
`#ct=..&rt=..&tt=..&rc=..&rp=..` after the URL. Without them Twilio tries a
webhook once more on a connection failure only (rc 1, rp ct), waits 5 s to
connect and 15 s for an answer, and gives up after 15 s in all. A 5xx is not
retried unless `rp` names it: a callback answered 503 without overrides is
lost, as on Twilio. The fragment is never sent: it is not part of the URL
Twilio requests, nor of what it signs (see callbacks/signature.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

POLICIES = frozenset({"4xx", "5xx", "all", "ct", "rt"})


@dataclass(frozen=True, slots=True)
class Overrides:
    retries: int = 1  # rc, 0..5
    policy: frozenset[str] = frozenset({"ct"})  # rp
    connect_ms: int = 5_000  # ct, 100..10000
    read_ms: int = 15_000  # rt, 100..15000
    total_ms: int = 15_000  # tt, 100..15000

    def retries_on(self, failure: str) -> bool:
        """Whether a failure of this class ("ct", "rt", "4xx", "5xx") is tried again."""
        return "all" in self.policy or failure in self.policy


NONE = Overrides(retries=0)  # for what Twilio documents no retry of (TaskRouter's events)


def _within(raw: str | None, low: int, high: int, default: int) -> int:
    if raw is None or not raw.isdigit():
        return default
    return min(high, max(low, int(raw)))


def split(url: str) -> tuple[str, Overrides]:
    """The URL Twilio requests (no fragment) and the overrides its fragment asks for."""
    base, _, fragment = url.partition("#")
    if not fragment:
        return base, Overrides()
    given = dict(parse_qsl(fragment, keep_blank_values=True))
    policy = frozenset(p for p in given.get("rp", "").split(",") if p in POLICIES)
    return base, Overrides(
        retries=_within(given.get("rc"), 0, 5, 1),
        policy=policy or frozenset({"ct"}),
        connect_ms=_within(given.get("ct"), 100, 10_000, 5_000),
        read_ms=_within(given.get("rt"), 100, 15_000, 15_000),
        total_ms=_within(given.get("tt"), 100, 15_000, 15_000),
    )
