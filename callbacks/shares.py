"""Each person's fair share of one process's streams and board views (issue 22).

A process serves at most EARPIECE_SSE_MAX_CLIENTS streams and keeps at most
a bounded number of distinct board views; before this, one credential could
take them all (an agent key opened 500 `/events` streams, the service token
64 board views) and starve everyone else. Now a person (a supervisor, an
agent, or the service token, whatever credential they use: Principal.person)
holds at most EARPIECE_STREAMS_PER_PERSON open streams of any kind and
watches at most EARPIECE_BOARD_VIEWS_PER_PERSON distinct board views here;
the next is refused with 429 and a reason, and everyone else still gets
theirs. Counted in the process (streams are held by a process), a few dict
operations: no library does this better.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable

from access.principal import Principal
from callbacks.errors import ApiError

RETRY = {"Retry-After": "5"}


class Share:
    """One stream's hold on its person's share; `release()` gives it back (once, however
    often it is called: a stream's end and its response's end both call it)."""

    def __init__(self, shares: Shares, person: str, view: Hashable | None) -> None:
        self._shares, self.person, self.view = shares, person, view
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._shares._give_back(self)

    async def arelease(self) -> None:
        self.release()


class Shares:
    def __init__(self, streams_per_person: int, views_per_person: int) -> None:
        self.streams_per_person = streams_per_person
        self.views_per_person = views_per_person
        self.streams: Counter[str] = Counter()
        self.views: dict[str, Counter[Hashable]] = {}

    def take(self, who: Principal, view: Hashable | None = None) -> Share:
        """A stream for `who` (watching board `view`, if one): 429 beyond their share."""
        person = who.person
        if self.streams[person] >= self.streams_per_person:
            raise ApiError(
                429,
                "too-many-streams-for-you",
                f"{_name(who)} already holds {self.streams_per_person} open streams "
                "in this process: close one first",
                RETRY,
            )
        watching = self.views.setdefault(person, Counter())
        if view is not None and view not in watching and len(watching) >= self.views_per_person:
            if not watching:
                del self.views[person]
            raise ApiError(
                429,
                "too-many-views-for-you",
                f"{_name(who)} already watches {self.views_per_person} different "
                "board views in this process: close one first",
                RETRY,
            )
        self.streams[person] += 1
        if view is not None:
            watching[view] += 1
        elif not watching:
            del self.views[person]
        return Share(self, person, view)

    def _give_back(self, share: Share) -> None:
        self.streams[share.person] -= 1
        if self.streams[share.person] <= 0:
            del self.streams[share.person]
        watching = self.views.get(share.person)
        if share.view is not None and watching is not None:
            watching[share.view] -= 1
            if watching[share.view] <= 0:
                del watching[share.view]
            if not watching:
                del self.views[share.person]


def _name(who: Principal) -> str:
    return "the service token" if who.ident is None else f"{who.kind} {who.ident}"
