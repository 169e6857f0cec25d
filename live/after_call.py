"""An agent's activity change that waits for the end of their call and wrap-up (issue 27).

Flex moves an agent from its Teams View only through the agent's browser, and Connect
refuses while the agent is on a contact; a floor manager here can say "Break, after this
call". The rule of when that happens lives here and in live/after_call.lua, beside the
worker's registers that live/taskrouter.lua keeps: the change waits while the worker holds
the task it was asked during, and is claimed, once, by the first event that shows the
worker no longer holds it (its completion, in any order, repeated or not). Whoever claims
it (coach/agent_state.py) moves the worker through the twilio SDK.

Why a script of its own: the decision "does the worker still hold that task" and the take
must be one step, or two processes (or a repeated event) could both act.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from core.redis_client import AsyncRedis
from live.scripts import script
from live.taskrouter_events import WORKER_PHASE, TaskRouterEvent


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


AFTER_CALL_LUA = script("after_call.lua")


@dataclass(frozen=True)
class PendingChange:
    """What a supervisor asked for: `activity` (its name and SID), why, who, when (ms)."""

    activity: str
    activity_sid: str
    reason: str
    by: str
    at_ms: int

    def encode(self) -> str:
        return orjson.dumps(self.__dict__).decode()

    @classmethod
    def decode(cls, raw: str) -> PendingChange:
        data = orjson.loads(raw)
        return cls(
            str(data["activity"]),
            str(data["activity_sid"]),
            str(data["reason"]),
            str(data["by"]),
            int(data["at_ms"]),
        )


class AfterCall:
    def __init__(self, redis: AsyncRedis, *, namespace: str, feed_maxlen: int = 20_000) -> None:
        self.redis = redis
        self.tag = "{" + namespace + "}"
        self.feed_maxlen = feed_maxlen
        self._script = redis.register_script(AFTER_CALL_LUA)

    def _keys(self, worker_sid: str) -> list[str]:
        return [
            f"{self.tag}:tr:after:{worker_sid}",
            f"{self.tag}:tr:worker:{worker_sid}",
            f"{self.tag}:tr:afters",
            f"{self.tag}:feed",
        ]

    async def _run(self, op: str, worker_sid: str, arg: str = "") -> tuple[str, str]:
        reply: Any = await self._script(
            keys=self._keys(worker_sid), args=[op, worker_sid, arg, self.feed_maxlen]
        )
        return text(reply[0]), text(reply[1])

    async def set(self, worker_sid: str, change: PendingChange) -> str | None:
        """Keep the change until the worker's current task is over: the task it waits for,
        or None when the worker holds no task (the caller makes the change now)."""
        outcome, task = await self._run("set", worker_sid, change.encode())
        return task if outcome == "pending" else None

    async def cancel(self, worker_sid: str) -> PendingChange | None:
        outcome, raw = await self._run("cancel", worker_sid)
        return PendingChange.decode(raw) if outcome == "canceled" and raw else None

    async def claim(self, worker_sid: str) -> PendingChange | None:
        """The change, if the worker no longer holds the task it waited for; taken once."""
        outcome, raw = await self._run("claim", worker_sid)
        return PendingChange.decode(raw) if outcome == "claimed" else None

    async def failed(self, worker_sid: str, message: str) -> None:
        """The claimed change could not be made: say why on the agent's row."""
        await self._run("failed", worker_sid, message[:300])

    async def claim_after(self, event: TaskRouterEvent) -> PendingChange | None:
        """After an applied event: only one that moves a worker's hold on a task can end
        the wait (no extra round trip for the others)."""
        if event.worker_sid is None or event.kind not in WORKER_PHASE:
            return None
        return await self.claim(event.worker_sid)

    async def all(self) -> dict[str, dict[str, Any]]:
        """Every worker's waiting change (or its failure), for the agents' rows."""
        workers: Any = await self.redis.smembers(f"{self.tag}:tr:afters")
        if not workers:
            return {}
        sids = sorted(text(w) for w in workers)
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid in sids:
                pipe.hgetall(f"{self.tag}:tr:after:{sid}")
            rows: list[Any] = await pipe.execute()
        out: dict[str, dict[str, Any]] = {}
        for sid, row in zip(sids, rows, strict=True):
            fields = {text(k): text(v) for k, v in row.items()}
            if not fields:
                continue
            entry: dict[str, Any] = {
                "task_sid": fields.get("task") or None,
                "error": fields.get("error") or None,
            }
            if fields.get("change"):
                change = PendingChange.decode(fields["change"])
                entry.update(
                    activity=change.activity, reason=change.reason, by=change.by, at_ms=change.at_ms
                )
            out[sid] = entry
        return out
