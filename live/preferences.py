"""A supervisor's board, kept on the server (issue 28): the team filter and the columns
they chose, the same after a reload and in another browser.

One small JSON document per supervisor in Redis (`{ep}:prefs:ID`, no expiry: a
supervisor's choice stands until they change it). Only known names are kept (teams of
the roster, the board's columns): the document is read back into widgets, and nothing
a browser sent is stored unchecked. A lead who never chose sees their own teams first
(Flex's and Genesys's default: a team lead's view is their team); a manager and QA the
whole floor. orjson and redis-py, as elsewhere in live/.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from core.redis_client import AsyncRedis
from live.roster import Roster, Supervisor

# The board's columns a supervisor may hide (Agent and State always show: a row needs them).
# Named as the board's headers (dashboard/board_component/board.js COLUMNS).
COLUMNS = ("Team", "Queue", "Customer", "Duration", "On hold", "Holds", "Monitoring",
           "Speaking", "Agent talk", "Silence", "Alerts", "Last said", "Attention",
           "Why")  # fmt: skip
# What fits 1366 px beside the sidebar (issue 28: Attention and Why were off-screen).
DEFAULT_COLUMNS = ("Team", "Customer", "Duration", "On hold", "Monitoring", "Alerts",
                   "Last said", "Why")  # fmt: skip
MAX_BYTES = 4096


@dataclass(frozen=True)
class BoardPrefs:
    teams: tuple[str, ...]
    columns: tuple[str, ...]
    chosen: bool  # False: never saved, these are the defaults


def defaults(who: Supervisor, roster: Roster) -> BoardPrefs:
    teams = tuple(t for t in who.teams if t in roster.teams) if who.role == "lead" else ()
    return BoardPrefs(teams, DEFAULT_COLUMNS, False)


def _known(values: object, allowed: Iterable[str]) -> tuple[str, ...]:
    keep = set(allowed)
    if not isinstance(values, list):
        return ()
    return tuple(dict.fromkeys(v for v in values if isinstance(v, str) and v in keep))


class Preferences:
    def __init__(self, redis: AsyncRedis, namespace: str, roster: Roster) -> None:
        self.redis, self.tag, self.roster = redis, "{" + namespace + "}", roster

    def key(self, supervisor: str) -> str:
        return f"{self.tag}:prefs:{supervisor}"

    async def board(self, who: Supervisor) -> BoardPrefs:
        raw = await self.redis.get(self.key(who.id))
        base = defaults(who, self.roster)
        if not raw or len(raw) > MAX_BYTES:
            return base
        try:
            saved = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return base
        if not isinstance(saved, dict):
            return base
        teams = _known(saved.get("teams"), self.roster.teams) if "teams" in saved else base.teams
        columns = _known(saved.get("columns"), COLUMNS) if "columns" in saved else base.columns
        return BoardPrefs(teams, columns, True)

    async def save_board(
        self, who: Supervisor, teams: Iterable[str], columns: Iterable[str]
    ) -> BoardPrefs:
        kept = BoardPrefs(
            _known(list(teams), self.roster.teams), _known(list(columns), COLUMNS), True
        )
        body = orjson.dumps({"teams": list(kept.teams), "columns": list(kept.columns)})
        await self.redis.set(self.key(who.id), body)
        return kept
