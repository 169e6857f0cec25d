"""Live transcripts in Redis: ingest Twilio's transcription callbacks, read a call's lines.

One `Transcripts` per process, beside the `LiveFloor` on the same Redis client.
A callback becomes one call of live/transcript.lua (batched with the others in
flight, like conference callbacks: live/batching.py), which keeps the lines
order-safe, keeps the call's last line and phrase hits on its conference
document (so the floor shows them), and puts each new line on the change feed
as a `transcript` entry. What reaches Redis is already masked (live/redact.py)
and matched against the phrases (live/phrases.py) here.

A final that arrives after its leg left, or after its call ended or was archived,
still belongs to its call: the leg is found in `{ns}:left` (live/late.py) by any
process, and the script keeps the line with the call's transcript (and queues it
for the archive record once the archiver has read the call).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from core.keys import Keys
from core.redis_client import AsyncRedis
from live import redact
from live.analyser import AnalyserProcess
from live.batching import BatchedScript
from live.forget import Forgetter
from live.late import left_call
from live.match_batch import MatchBatch
from live.model import Json, role_of
from live.phrases import Matcher
from live.roster import Roster
from live.scripts import script
from live.store import LiveFloor, now_ms, text
from live.transcript_events import SPEAKERS, TranscriptionEvent
from live.transcript_view import line_json

TRANSCRIPT_LUA = script("transcript.lua")
# Final lines kept per live call: a call of several hours keeps its newest ones.
MAX_LINES = 400
# Lines after a call spoke of a card are masked harder for this long (live/redact.py).
CARD_CONTEXT_MS = 60_000
# CallSid -> (ConferenceSid, its role there): a call's conference and role do not change.
MAX_CACHED_CALLS = 50_000


@dataclass(frozen=True, slots=True)
class Ingested:
    # applied | corrected (applied, and earlier lines masked: a card read over several lines)
    # | duplicate | stale | paused | late | archived | ended | unknown | unchanged
    outcome: str
    conference_sid: str | None


class Transcripts:
    def __init__(
        self,
        redis: AsyncRedis,
        floor: LiveFloor,
        roster: Roster,
        feed_maxlen: int,
        keep_seconds: int,
    ) -> None:
        self.redis = redis
        self.floor = floor
        self.keys: Keys = floor.keys
        # Each team's phrases and its exclusions (issue 23); a call whose team is not known
        # (no agent on it yet) is matched against every team's phrases, and the
        # conference shows the hits of its own team's (live/model.py).
        self.roster = roster
        self.matchers: dict[str, Matcher] = {
            name: Matcher.of(team.phrases, team.not_phrases) for name, team in roster.teams.items()
        }
        # Lines needing the analyser, analysed in a row, in a process of its own when it can.
        self.analyser = AnalyserProcess()
        self.matching = MatchBatch(self.analyser)
        self.any_team = Matcher.of(sorted({p for t in roster.teams.values() for p in t.phrases}))
        self._calls: dict[str, tuple[str, str]] = {}
        self._teams: dict[str, str] = {}  # ConferenceSid -> its team, once it has one
        self._script = BatchedScript(
            redis, TRANSCRIPT_LUA, shared_keys=[self.keys.feed, self.keys.live, self.keys.late],
            shared_args=[feed_maxlen, MAX_LINES, keep_seconds, CARD_CONTEXT_MS,
                         redact.WINDOW_MS, redact.CARD_RUN_DIGITS],
        )  # fmt: skip
        # Lines masked after they were kept: what Redis wrote of them to its files goes too.
        self.forget = Forgetter(redis)

    async def close(self) -> None:
        await self.analyser.close()

    def _event_keys(self, sid: str) -> list[str]:
        k = self.keys
        return [
            k.conference(sid),
            k.transcript_index(sid),
            k.transcript_lines(sid),
            k.transcript_registers(sid),
            k.sealed(sid),
        ]

    async def _run(self, sid: str, event: dict[str, Any]) -> str:
        outcome, _ = await self._script(self._event_keys(sid), orjson.dumps(event))
        return text(outcome)

    async def where(self, call_sid: str) -> tuple[str, str] | None:
        """(ConferenceSid, role) of a live call's leg, or of one that left lately (live/late.py):
        this process may never have seen the call."""
        found = self._calls.get(call_sid)
        if found is not None:
            return found
        call = await self.floor.call(call_sid)
        if call is not None:
            found = (call["conference_sid"], call["role"])
        else:
            left = await left_call(self.redis, self.keys, call_sid)
            if left is None:
                return None
            found = (left[0], role_of(left[1] or None)[0])
        if len(self._calls) >= MAX_CACHED_CALLS:
            self._calls.clear()
        self._calls[call_sid] = found
        return found

    @staticmethod
    def speaker(track: str, leg_role: str) -> str:
        """Who spoke a track. Earpiece transcribes the customer's leg with its tracks
        labelled; on any leg, the inbound track is that leg's own voice and the outbound
        one is everyone else on the conference."""
        if track in SPEAKERS:
            return track
        own = "customer" if leg_role == "customer" else "agent"
        if track == "inbound_track":
            return own
        return "agent" if own == "customer" else "customer"

    async def matcher(self, sid: str) -> Matcher:
        """The phrases of the call's team (its agent's), read once per call."""
        team = self._teams.get(sid)
        if team is None:
            doc = await self.floor.read(sid)
            for p in (doc["participants"] if doc is not None else {}).values():
                role, ident = role_of(p.get("label"))
                found = self.roster.team_for(ident) if role == "agent" else None
                if found is not None:
                    if len(self._teams) >= MAX_CACHED_CALLS:
                        self._teams.clear()
                    team = self._teams[sid] = found.name
                    break
        return self.matchers.get(team, self.any_team) if team else self.any_team

    async def ingest(self, event: TranscriptionEvent) -> Ingested:
        where = await self.where(event.call_sid)
        if where is None:
            return Ingested("unknown", None)
        sid, role = where
        if event.event == "transcription-content":
            if not event.text:
                return Ingested("unchanged", sid)
            # A partial is never matched (its final is): its call's phrases are not looked up.
            hits = (
                await self.matching.matches(await self.matcher(sid), event.text)
                if event.final
                else []
            )
            # Never the raw words: masked alone, and masked as if a card was spoken of just
            # before (the script picks by the call's card context). A line with nothing
            # like a number in it is the same either way, and is not masked at all.
            judged = redact.judge(event.text, event.final)
            line = {
                "op": "line", "cf": sid, "gt": event.transcription_sid, "seq": event.sequence,
                "s": self.speaker(event.track or "", role), "final": event.final,
                "at": event.at_ms, "t": judged.text, "card": judged.card_talk,
            }  # fmt: skip
            if judged.harder != judged.text:  # only a line with something like a number in it
                line["tc"] = judged.harder
            if judged.window_digits:
                line["nd"] = judged.window_digits
                # What the last line and a phrase hit show while the window may yet judge
                # its numbers a card: `[digits]`, not a card's label (live/redact.py).
                line["th"] = judged.held
            if hits:
                line["hits"] = hits
            outcome = await self._run(sid, line)
            if outcome == "corrected":
                self.forget.soon()
            return Ingested(outcome, sid)
        what = {
            "transcription-started": "started",
            "transcription-stopped": "stopped",
            "transcription-error": "failed",
        }[event.event]
        outcome = await self.set_state(
            sid, what, gt=event.transcription_sid, call=event.call_sid, err=event.error
        )
        return Ingested(outcome, sid)

    async def set_state(self, sid: str, what: str, **fields: Any) -> str:
        """started | stopped | failed | pause | resume | mute (live/transcript.lua)."""
        event = {"op": "state", "what": what, "at": now_ms(),
                 **{k: v for k, v in fields.items() if v is not None}}  # fmt: skip
        return await self._run(sid, event)

    async def lines(self, sid: str) -> list[Json]:
        """A call's transcript, oldest first: its final lines, then per speaker the
        partial line newer than that speaker's last final, if any."""
        k = self.keys
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(k.transcript_lines(sid))
        pipe.hgetall(k.transcript_registers(sid))
        finals_raw, registers = await pipe.execute()
        lines = [orjson.loads(v) for v in finals_raw.values()]
        for field, value in registers.items():
            if text(field).endswith("|p"):
                lines.append(orjson.loads(value))
        lines.sort(key=lambda line: (line.get("at") or 0, line.get("q") or 0))
        return [line_json(line) for line in lines]
