"""An ended call as the archive keeps it: one document, made once from what the floor knew.

Everything QA searches on is a column beside it (times, team, queue, agent, the
alerts raised, whether a supervisor listened); the document itself holds the
rest: who was on the call and when, holds and talk share, the supervisors'
monitors with their modes and times, help requests, cards, the transcript, the
recordings, and the timeline of Twilio's events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from archive.words import index_words
from earpiece.roster import Roster
from live.model import role_of
from live.times import iso

Json = dict[str, Any]


@dataclass
class CallRecord:
    """What the store writes: the searchable columns and the whole document."""

    sid: str
    started_ms: int
    ended_ms: int
    team: str | None
    queue: str | None
    agent: str | None
    alerts: tuple[str, ...]
    monitored: bool
    text: str  # the transcript's words as search indexes them (archive/words.py), "" without one
    doc: Json = field(default_factory=dict)

    @property
    def duration_seconds(self) -> int:
        return max(0, (self.ended_ms - self.started_ms) // 1000)


def _people(doc: Mapping[str, Any]) -> list[Json]:
    out = []
    for p in (doc.get("p") or {}).values():
        role, ident = role_of(p.get("label"))
        out.append({"call_sid": p.get("call_sid"), "label": p.get("label"), "role": role,
                    "id": ident, "number": p.get("number"), "joined_at": iso(p.get("joined")),
                    "left_at": iso(p.get("left")),
                    "talk_seconds": round(int(p.get("talk") or 0) / 1000, 1),
                    "hold_seconds": round(int(p.get("hold_total") or 0) / 1000)})  # fmt: skip
    out.sort(key=lambda p: p["joined_at"] or "")
    return out


def monitors_of(audit: Iterable[Mapping[str, Any]], ended_at: str | None) -> list[Json]:
    """Each supervisor's time on the call, mode by mode, from the audit (oldest first)."""
    spans: list[Json] = []
    open_span: dict[str, Json] = {}
    for entry in sorted(audit, key=lambda e: e.get("id") or ""):
        who, action = entry.get("supervisor") or "", entry.get("action")
        if action not in ("join", "switch", "leave") or entry.get("outcome") not in ("ok", ""):
            continue
        current = open_span.pop(who, None)
        if current is not None:
            current["until"] = entry.get("at")
            spans.append(current)
        if action in ("join", "switch"):
            open_span[who] = {"supervisor": who, "mode": entry.get("mode"), "from": entry.get("at"),
                              "until": None}  # fmt: skip
    for current in open_span.values():
        current["until"] = ended_at
        spans.append(current)
    return sorted(spans, key=lambda s: s["from"] or "")


def build(
    doc: Mapping[str, Any], roster: Roster, *, transcript: list[Json], timeline: list[Json],
    audit: list[Json], alerts: Iterable[str], recordings: list[Json],
) -> CallRecord:  # fmt: skip
    """The archive's record of an ended conference document (live/apply.lua's `c`)."""
    people = _people(doc)
    agent = next((p["id"] for p in people if p["role"] == "agent"), None)
    team = roster.team_for(agent)
    started = int(doc.get("started") or doc.get("ended") or 0)
    ended = int(doc.get("ended") or started)
    ended_at = iso(ended)
    monitors = monitors_of(audit, ended_at)
    talk = {r: sum(p["talk_seconds"] for p in people if p["role"] == r)
            for r in ("customer", "agent")}  # fmt: skip
    total = sum(talk.values())
    customer = next((p for p in people if p["role"] == "customer"), None)
    finals = [line for line in transcript if line.get("final")]
    helped = [{"at": e.get("at"), "agent": agent, "what": e.get("action")}
              for e in audit if e.get("action") in ("help", "help-cancelled")]  # fmt: skip
    record = {
        "sid": doc.get("sid"), "friendly_name": doc.get("fn") or "",
        "started_at": iso(started), "ended_at": ended_at,
        "duration_seconds": max(0, (ended - started) // 1000),
        "reason": doc.get("reason"), "task_sid": doc.get("task"),
        "team": team.name if team else None, "queue": team.queue if team else None,
        "agent": agent, "customer": (customer or {}).get("number"),
        "participants": people, "holds": int(doc.get("holds") or 0),
        "hold_seconds": sum(p["hold_seconds"] for p in people),
        "talk_seconds": talk,
        "talk_share": {r: round(v / total, 2) for r, v in talk.items()} if total else {},
        "alerts": sorted(set(alerts)), "monitored": bool(monitors), "monitors": monitors,
        "help": helped, "cards": [
            {"supervisor": c.get("supervisor"), "text": c.get("text"), "at": iso(c.get("at"))}
            for c in doc.get("cards") or ()],
        "phrases": [{"phrase": h.get("p"), "speaker": h.get("s"), "text": h.get("t"),
                     "at": iso(h.get("at"))} for h in doc.get("ph") or ()],
        # The language its words were transcribed in (issue 23): what Twilio was asked for,
        # else its team's; it also says how its words were indexed for search.
        "transcript_language": (doc.get("tx") or {}).get("lang")
        or (team.language if team and finals else None),
        "transcript": finals, "recordings": recordings, "timeline": timeline,
    }  # fmt: skip
    return CallRecord(
        sid=str(doc.get("sid")), started_ms=started, ended_ms=ended,
        team=record["team"], queue=record["queue"], agent=agent,
        alerts=tuple(record["alerts"]), monitored=bool(monitors),
        text=index_words(" ".join(str(line.get("text") or "") for line in finals)), doc=record,
    )  # fmt: skip
