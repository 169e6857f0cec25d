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

from archive.playback import paused_spans, skipped
from archive.words import index_words
from core.documents import Conference
from core.times import iso
from live.board import mask_number
from live.model import role_of
from live.roster import Roster

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

    def columns(self) -> tuple[str, int, int, int, str | None, str | None, str | None, str]:
        """The calls table's first columns, as every store writes them: sid, started_ms,
        ended_ms, duration_s, team, queue, agent, and alerts as ",a,b," (a LIKE finds one)."""
        alerts = "," + ",".join(self.alerts) + ","
        return (self.sid, self.started_ms, self.ended_ms, self.duration_seconds, self.team,
                self.queue, self.agent, alerts)  # fmt: skip


def _people(doc: Conference, full_numbers: bool, country: str | None) -> list[Json]:
    out = []
    for p in doc["participants"].values():
        role, ident = role_of(p.get("label"))
        number = p.get("number")
        if number and not full_numbers:
            number = mask_number(str(number), True, country)
        out.append(
            {
                "call_sid": p.get("call_sid"),
                "label": p.get("label"),
                "role": role,
                "id": ident,
                "number": number,
                "joined_at": iso(p.get("joined")),
                "left_at": iso(p.get("left")),
                "talk_seconds": round(int(p.get("talk") or 0) / 1000, 1),
                "hold_seconds": round(int(p.get("hold_total") or 0) / 1000),
            }
        )
    out.sort(key=lambda p: p["joined_at"] or "")
    return out


def monitors_of(audit: Iterable[Mapping[str, Any]], ended_at: str | None) -> list[Json]:
    """Each supervisor's time on the call, mode by mode, from the audit (oldest first): on
    a phone leg (join, switch, leave) and hearing it in a browser (`listen` to `listen-end`,
    `how` "browser": a QA who listened in a tab listened as much as one on a leg). A
    supervisor's browser time runs from their first tab's opening to their last's close."""
    spans: list[Json] = []
    open_span: dict[str, Json] = {}
    tabs: dict[str, int] = {}
    browser_span: dict[str, Json] = {}
    for entry in sorted(audit, key=lambda e: e.get("id") or ""):
        who, action = entry.get("supervisor") or "", entry.get("action")
        if entry.get("outcome") not in ("ok", ""):
            continue
        if action in ("listen", "listen-end"):
            opened = tabs.get(who, 0) + (1 if action == "listen" else -1)
            tabs[who] = max(0, opened)
            if opened == 1 and action == "listen":
                browser_span[who] = {"supervisor": who, "mode": "listen", "how": "browser",
                                     "from": entry.get("at"), "until": None}  # fmt: skip
            elif opened <= 0 and who in browser_span:
                span = browser_span.pop(who)
                span["until"] = entry.get("at")
                spans.append(span)
            continue
        if action not in ("join", "switch", "leave"):
            continue
        current = open_span.pop(who, None)
        if current is not None:
            current["until"] = entry.get("at")
            spans.append(current)
        if action in ("join", "switch"):
            open_span[who] = {
                "supervisor": who,
                "mode": entry.get("mode"),
                "from": entry.get("at"),
                "until": None,
            }
    for current in (*open_span.values(), *browser_span.values()):
        current["until"] = ended_at
        spans.append(current)
    return sorted(spans, key=lambda s: s["from"] or "")


def build(
    doc: Conference,
    roster: Roster,
    *,
    transcript: list[Json],
    timeline: list[Json],
    audit: list[Json],
    alerts: Iterable[str],
    recordings: list[Json],
    country: str | None = None,
) -> CallRecord:
    """The archive's record of an ended conference document (live/apply.lua's `c`, decoded).

    The archive keeps what the API would show: a caller's number is kept masked unless the
    roster's `[access] full_numbers` names a role that may see it (issue 22: the file kept
    every full number while the API masked them for everyone)."""
    people = _people(doc, full_numbers=bool(roster.full_number_roles), country=country)
    agent = next((p["id"] for p in people if p["role"] == "agent"), None)
    team = roster.team_for(agent)
    started = int(doc.get("started") or doc.get("ended") or 0)
    ended = int(doc.get("ended") or started)
    ended_at = iso(ended)
    monitors = monitors_of(audit, ended_at)
    pauses = paused_spans(audit, ended_at)
    talk = {
        r: sum(p["talk_seconds"] for p in people if p["role"] == r) for r in ("customer", "agent")
    }
    total = sum(talk.values())
    customer = next((p for p in people if p["role"] == "customer"), None)
    finals = [line for line in transcript if line.get("final")]
    helped = [
        {"at": e.get("at"), "agent": agent, "what": e.get("action")}
        for e in audit
        if e.get("action") in ("help", "help-cancelled")
    ]
    record = {
        "sid": doc.get("sid"),
        "friendly_name": doc.get("friendly_name") or "",
        "started_at": iso(started),
        "ended_at": ended_at,
        "duration_seconds": max(0, (ended - started) // 1000),
        "reason": doc.get("reason"),
        "task_sid": doc.get("task_sid"),
        "team": team.name if team else None,
        "queue": team.queue if team else None,
        "agent": agent,
        "customer": (customer or {}).get("number"),
        "participants": people,
        "holds": int(doc.get("holds") or 0),
        "hold_seconds": sum(p["hold_seconds"] for p in people),
        "talk_seconds": talk,
        "talk_share": {r: round(v / total, 2) for r, v in talk.items()} if total else {},
        "alerts": sorted(set(alerts)),
        "monitored": bool(monitors),
        "monitors": monitors,
        "help": helped,
        "cards": [
            {"supervisor": c.get("supervisor"), "text": c.get("text"), "at": iso(c.get("at"))}
            for c in doc.get("cards") or ()
        ],
        "phrases": [
            {
                "phrase": h.get("phrase"),
                "speaker": h.get("speaker"),
                "text": h.get("text"),
                "at": iso(h.get("at")),
            }
            for h in doc.get("phrases_heard") or ()
        ],
        # The language its words were transcribed in (issue 23): what Twilio was asked for,
        # else its team's; it also says how its words were indexed for search.
        "transcript_language": (doc.get("transcript") or {}).get("language")
        or (team.language if team and finals else None),
        "transcript": finals,
        # Each with the payment pauses its file skipped: "play from here" (archive/playback.py).
        "recordings": [{**r, "skipped": skipped(r, pauses)} for r in recordings],
        "timeline": timeline,
    }
    return CallRecord(
        sid=str(doc.get("sid")),
        started_ms=started,
        ended_ms=ended,
        team=record["team"],
        queue=record["queue"],
        agent=agent,
        alerts=tuple(record["alerts"]),
        monitored=bool(monitors),
        text=transcript_text(finals),
        doc=record,
    )


def transcript_text(finals: Iterable[Mapping[str, Any]]) -> str:
    """The words of a call's final lines, as the archive searches them: the analyser's
    units, normalised (archive/words.py), so a late line is found like every other."""
    return index_words(" ".join(str(line.get("text") or "") for line in finals))


def amend(
    doc: Mapping[str, Any], lines: Iterable[Json], recordings: Iterable[Json]
) -> tuple[Json, str] | None:
    """An archived call's document with late final lines (as line_json gives them) and the
    newest state of its recordings (live/recordings.py applied the forward-only rule; what it
    queued last is the newest); with the words to search. None when nothing changed.

    A line is taken once (by its id: the same line may be both in what the archiver read and
    on the late queue), and the transcript stays in time order."""
    transcript = list(doc.get("transcript") or ())
    have = {line.get("id") for line in transcript if line.get("id")}
    changed = False
    for line in lines:
        if not line.get("final") or (line.get("id") and line.get("id") in have):
            continue
        transcript.append(line)
        have.add(line.get("id"))
        changed = True
    # Time order (stable: lines of the same second keep the order the archive had, and a
    # late one comes after them, as it was said last).
    transcript.sort(key=lambda line: line.get("at") or "")
    kept = list(doc.get("recordings") or ())
    for recording in recordings:
        at = next((i for i, r in enumerate(kept) if r.get("sid") == recording.get("sid")), None)
        if at is None:
            kept.append(dict(recording))
            changed = True
        elif kept[at] != recording:
            kept[at] = {**kept[at], **recording}
            changed = True
    if not changed:
        return None
    out = {**doc, "transcript": transcript, "recordings": kept}
    return out, transcript_text(transcript)
