"""The floor's documents as the Lua scripts store them, and as Python reads them.

One schema for both sides (issue 24 §3). The Lua scripts in live/ write each document
with short keys (a conference is rewritten on every callback: short keys keep it small
and its cjson round trip cheap); Python reads it through one decoding function per
document, which gives every field its readable name. `SCHEMA` below is the table that
names them all: the stored key, the readable name, its type and what it means, for each
document, and which script (and which Lua variable in it) writes the document.
tests/core/test_documents.py reads every .lua script for the keys it writes and fails on one
this table does not name, and on a key of the table that no script writes.

Documents (keys under the floor's hash tag, core/keys.py):

- conference  `:conf:<CF>`, JSON (live/apply.lua and the scripts after it)
- participant  a conference's `p[<CallSid>]`
- monitor  a conference's `mon[<supervisor>]` (live/monitor.lua)
- help, card, transcript, line, phrase hit, phrase mute: parts of a conference
- task  `:tr:task:<WT>`, a hash of registers (live/taskrouter.lua): the queue's side
- worker  `:tr:worker:<WK>`, a hash of registers (live/taskrouter.lua): the agent's side
- after-call change  `:tr:after:<WK>`, a hash (live/after_call.lua)

(A recording's state, live/recording.lua, is merged from what coach/recording.py passes,
field by field: its keys are Twilio's, named in Python, not in a script.)

A stored key that is a word already (`joined`, `started`, `talk`, `since`, `at`: times
in epoch ms, durations in ms, as the table says) keeps its name: only the short ones are
renamed. Decoding renames keys and nothing else (no copy of values, no checks): every
read of the floor decodes each document it renders, so it is kept cheap (a few µs a
document, bench/render_cost.py). A document that is not what the scripts write (a bug,
or nonsense) fails in its reader, which flags it unreadable (live/store.py), as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NotRequired, Required, TypedDict, cast

# A document as stored: JSON decoded (or a hash read) with the scripts' short keys, before
# decoding. It travels as it is (the feed carries it, the board keeps it); a reader decodes
# it with the function of its document before it reads a field.
Stored = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Field:
    stored: str  # the key the scripts write
    name: str  # the readable name Python reads it by
    type: str  # as JSON (Lua's cjson) or the hash holds it
    meaning: str


@dataclass(frozen=True, slots=True)
class Document:
    name: str
    where: str  # the Redis key, or the place in its parent document
    writers: Mapping[str, tuple[str, ...]]  # script -> the Lua variables that hold it there
    fields: tuple[Field, ...]

    def renames(self) -> tuple[tuple[str, str], ...]:
        """(stored key, readable name), only where they differ."""
        return tuple((f.stored, f.name) for f in self.fields if f.stored != f.name)


F = Field
CONFERENCE = Document(
    "conference", ":conf:<CF> (JSON string)",
    {"apply.lua": ("c",), "monitor.lua": ("c",), "repair.lua": ("c",),
     "taskrouter_link.lua": ("c",), "transcript.lua": ("c",)},
    (
        F("sid", "sid", "str", "the ConferenceSid"),
        F("fn", "friendly_name", "str", "the FriendlyName (a TaskRouter conference: the TaskSid)"),
        F("status", "status", "str", "init | in-progress | completed"),
        F("seq", "last_seq", "int", "the newest SequenceNumber applied"),
        F("end_seq", "end_seq", "int", "the conference-end's SequenceNumber: nothing newer counts"),
        F("started", "started", "int ms", "when it started (else its earliest event)"),
        F("start_seen", "start_seen", "bool", "the conference-start event itself was applied"),
        F("updated", "updated", "int ms", "the newest event's time"),
        F("ended", "ended", "int ms", "when it ended"),
        F("reason", "reason", "str", "Twilio's ReasonConferenceEnded"),
        F("p", "participants", "{CallSid: participant}", "every leg ever on the call"),
        F("mon", "monitors", "{supervisor: monitor}", "supervisors on the call"),
        F("holds", "holds", "int", "hold events so far"),
        F("help", "help", "help", "an agent's open help request"),
        F("cards", "cards", "[card]", "supervisors' text cards, the newest 20"),
        F("task", "task_sid", "str", "the TaskRouter task it is for (live/taskrouter_link.lua)"),
        F("repaired", "repaired", "int ms", "when the reconciler last repaired it"),
        F("tx", "transcript", "transcript", "its live transcription's state and last line"),
        F("ph", "phrases_heard", "[phrase hit]", "team phrases said on the call, the newest 20"),
        F("phm", "phrases_muted", "{phrase: phrase mute}", "phrase alerts a supervisor silenced"),
    ),
)  # fmt: skip
PARTICIPANT = Document(
    "participant", "conference.p[<CallSid>]",
    {"apply.lua": ("p",), "repair.lua": ("p",), "taskrouter_link.lua": ("p",),
     "monitor.lua": ("p",)},
    (
        F("call_sid", "call_sid", "str", "the leg's CallSid"),
        F("label", "label", "str", "customer | agent:<id> | supervisor:<id> (set once)"),
        F("present", "present", "bool", "on the call now"),
        F("ps", "presence_seq", "int", "SequenceNumber of the newest presence event"),
        F("left", "left", "int ms", "when it left (absent only)"),
        F("joined", "joined", "int ms", "the newest join's time, else its earliest event's"),
        F("js", "join_seq", "int", "SequenceNumber of the newest join"),
        F("muted", "muted", "bool", "muted (the newest flag set)"),
        F("hold", "hold", "bool", "on hold"),
        F("coaching", "coaching", "bool", "whispering to a leg"),
        F("coach", "coached_call_sid", "str", "the leg it coaches ('' when none is known)"),
        F("eoe", "end_on_exit", "bool", "the conference ends when it leaves"),
        F("fs", "flags_seq", "int", "SequenceNumber of the newest flag set"),
        F("hu", "unhold_seq", "int", "SequenceNumber of the newest hold=false event"),
        F("ht", "hold_runs", "[[seq, ms]]", "hold=true events after the newest unhold"),
        F("hold_since", "hold_since", "int ms", "when the current hold began"),
        F("hold_total", "hold_total", "int ms", "time on hold in finished holds"),
        F("speaking", "speaking", "bool", "speaking now (the newest speech event)"),
        F("speech_at", "speech_at", "int ms", "the newest speech event's time"),
        F("ss", "speech_seq", "int", "SequenceNumber of the newest speech event"),
        F("talk", "talk", "int ms", "time spoken in finished turns"),
        F("number", "number", "str", "the customer's number, read from Twilio or the task"),
        F("from_task", "labelled_from_task", "bool", "the label came from its TaskRouter task"),
    ),
)  # fmt: skip
MONITOR = Document(
    "monitor", "conference.mon[<supervisor>]",
    {"monitor.lua": ("m", r"c\.mon\[\w+\]")},
    (
        F("supervisor", "supervisor", "str", "the supervisor's roster id"),
        F("conference_sid", "conference_sid", "str", "the conference"),
        F("call_sid", "call_sid", "str", "the supervisor's leg ('' while dialing)"),
        F("mode", "mode", "str", "listen | whisper | barge"),
        F("since", "since", "int ms", "when the mode began"),
        F("status", "status", "str", "dialing | connected"),
        F("note", "note", "str", "what changed it on its own (a whisper taken over)"),
        F("leaving", "leaving", "bool", "Earpiece is hanging the leg up"),
    ),
)  # fmt: skip
HELP = Document(
    "help", "conference.help", {"monitor.lua": (r"c\.help",)},
    (
        F("agent", "agent", "str", "the agent asking"),
        F("call_sid", "call_sid", "str", "the agent's leg"),
        F("at", "at", "int ms", "when they asked"),
    ),
)  # fmt: skip
CARD = Document(
    "card", "conference.cards[]", {"monitor.lua": ("card",)},
    (
        F("supervisor", "supervisor", "str", "who sent it"),
        F("text", "text", "str", "what it says"),
        F("at", "at", "int ms", "when"),
        F("call_sid", "call_sid", "str", "the agent's leg it went to"),
        F("conference_sid", "conference_sid", "str", "the conference"),
        F("agent", "agent", "str", "the agent it went to"),
    ),
)  # fmt: skip
TRANSCRIPT = Document(
    "transcript", "conference.tx", {"transcript.lua": ("tx",)},
    (
        F("st", "state", "str", "off | on | paused | error"),
        F("gt", "transcription_sid", "str", "the running transcription"),
        F("call", "call_sid", "str", "the leg it transcribes"),
        F("err", "error", "str", "why it failed"),
        F("lang", "language", "str", "the language Twilio was asked for"),
        F("by", "paused_by", "str", "who paused it (a payment)"),
        F("since", "since", "int ms", "when it was paused or resumed"),
        F("last", "last_line", "line", "the newest final line"),
    ),
)  # fmt: skip
LINE = Document(
    "line", "conference.tx.last", {"transcript.lua": (r"tx\.last", "now_last")},
    (
        F("s", "speaker", "str", "customer | agent"),
        F("t", "text", "str", "what was said (masked as kept)"),
        F("at", "at", "int ms", "when"),
    ),
)  # fmt: skip
PHRASE_HIT = Document(
    "phrase hit", "conference.ph[]", {"transcript.lua": (r"c\.ph",)},
    (
        F("p", "phrase", "str", "the team's phrase"),
        F("s", "speaker", "str", "who said it"),
        F("t", "text", "str", "the line (masked as kept)"),
        F("at", "at", "int ms", "when"),
    ),
)  # fmt: skip
PHRASE_MUTE = Document(
    "phrase mute", "conference.phm[<phrase>]", {"transcript.lua": (r"c\.phm\[[\w.]+\]",)},
    (
        F("by", "by", "str", "the supervisor who silenced it"),
        F("at", "at", "int ms", "when"),
    ),
)  # fmt: skip
TASK = Document(
    "task", ":tr:task:<WT> (hash; values are strings)", {"taskrouter.lua": ("apply_task",)},
    (
        F("st", "status", "str", "the task's status (pending, reserved, assigned, ...)"),
        F("st_at", "status_at_ms", "int ms", "the status register's event time"),
        F("st_rank", "status_rank", "int", "how far along its life the status is (a tie's winner)"),
        F("q", "queue_sid", "str", "the TaskQueue it waits or waited in"),
        F("q_at", "queue_at_ms", "int ms", "the queue register's event time"),
        F("entered", "entered_ms", "int ms", "when it entered that queue"),
        F("day", "day", "YYYY-MM-DD", "the floor's day it counts in (EARPIECE_TIMEZONE)"),
        F("slot", "half_hour", "int 0..47", "the half hour of that day it entered"),
        F("sl", "service_level_ms", "int ms", "the queue's service level threshold"),
        F("acc", "accepted_ms", "int ms", "the first acceptance: answered then"),
        F("worker", "worker_sid", "str", "the Worker who accepted it"),
        F("agent", "agent", "str", "that Worker's roster agent"),
        F("call", "call_sid", "str", "the caller's CallSid"),
        F("caller", "caller", "str", "the caller's number"),
        F("prio", "priority", "int", "the task's priority"),
        F("prio_at", "priority_at_ms", "int ms", "the priority register's event time"),
        F("cls", "counted_as", "str", "its class: day|queue|answered|abandoned|in_sl|wait|slot"),
    ),
)  # fmt: skip
WORKER = Document(
    "worker", ":tr:worker:<WK> (hash; values are strings)", {"taskrouter.lua": ("apply_worker",)},
    (
        F("name", "name", "str", "the Worker's friendly name"),
        F("agent", "agent", "str", "its roster agent"),
        F("act", "activity", "str", "its TaskRouter Activity"),
        F("act_at", "activity_at_ms", "int ms", "the activity register's event time"),
        F("since", "activity_since_ms", "int ms", "when the activity began"),
        F("phase", "phase", "str", "assigned | wrapping | none: its hold on a task"),
        F("phase_at", "phase_at_ms", "int ms", "when the phase began"),
        F("phase_rank", "phase_rank", "int", "how far along a task the phase is (a tie's winner)"),
        F("task", "task_sid", "str", "the task it holds ('' when none)"),
    ),
)  # fmt: skip
AFTER_CALL = Document(
    "after-call change", ":tr:after:<WK> (hash)", {"after_call.lua": (r"HSET KEYS\[1\]",)},
    (
        F("change", "change", "JSON", "the activity change waiting (live/after_call.py)"),
        F("task", "task_sid", "str", "the task whose end it waits for"),
        F("error", "error", "str", "why the change failed, after a claim"),
    ),
)  # fmt: skip
del F

SCHEMA: tuple[Document, ...] = (
    CONFERENCE, PARTICIPANT, MONITOR, HELP, CARD, TRANSCRIPT, LINE, PHRASE_HIT, PHRASE_MUTE,
    TASK, WORKER, AFTER_CALL,
)  # fmt: skip


# -- the documents as Python reads them ---------------------------------------------------


class Participant(TypedDict, total=False):
    call_sid: Required[str]
    label: str
    present: bool
    presence_seq: int
    left: int  # epoch ms
    joined: int  # epoch ms
    join_seq: int
    muted: bool
    hold: bool
    coaching: bool
    coached_call_sid: str
    end_on_exit: bool
    flags_seq: int
    unhold_seq: int
    hold_runs: object  # [[seq, ms], ...]; Lua's cjson stores an empty one as {}
    hold_since: int  # epoch ms
    hold_total: int  # ms
    speaking: bool
    speech_at: int  # epoch ms
    speech_seq: int
    talk: int  # ms
    number: str
    labelled_from_task: bool


class Monitor(TypedDict, total=False):
    supervisor: Required[str]
    conference_sid: Required[str]
    call_sid: str
    mode: Required[str]
    since: int  # epoch ms
    status: str
    note: str
    leaving: bool


class Help(TypedDict, total=False):
    agent: str
    call_sid: str
    at: int  # epoch ms


class Card(TypedDict, total=False):
    supervisor: str
    text: str
    at: int  # epoch ms
    call_sid: str
    conference_sid: str
    agent: str


class Line(TypedDict, total=False):
    speaker: str
    text: str
    at: int  # epoch ms


class Transcript(TypedDict, total=False):
    state: str
    transcription_sid: str
    call_sid: str
    error: str
    language: str
    paused_by: str
    since: int  # epoch ms
    last_line: Line


class PhraseHit(TypedDict, total=False):
    phrase: str
    speaker: str
    text: str
    at: int  # epoch ms


class PhraseMute(TypedDict, total=False):
    by: str
    at: int  # epoch ms


class Conference(TypedDict, total=False):
    sid: Required[str]
    friendly_name: str
    status: str
    last_seq: int
    end_seq: int
    started: int  # epoch ms
    start_seen: bool
    updated: int  # epoch ms
    ended: int  # epoch ms
    reason: str
    participants: Required[dict[str, Participant]]
    monitors: Required[dict[str, Monitor]]
    holds: int
    help: NotRequired[Help]
    cards: list[Card]
    task_sid: str
    repaired: int  # epoch ms
    transcript: Transcript
    phrases_heard: list[PhraseHit]
    phrases_muted: dict[str, PhraseMute]


class Task(TypedDict, total=False):
    """A task's registers (every value a string, as a hash holds it)."""

    status: str
    status_at_ms: str
    status_rank: str
    queue_sid: str
    queue_at_ms: str
    entered_ms: str
    day: str
    half_hour: str
    service_level_ms: str
    accepted_ms: str
    worker_sid: str
    agent: str
    call_sid: str
    caller: str
    priority: str
    priority_at_ms: str
    counted_as: str


class Worker(TypedDict, total=False):
    """A worker's registers (every value a string), and its WorkerSid."""

    sid: Required[str]
    name: str
    agent: str
    activity: str
    activity_at_ms: str
    activity_since_ms: str
    phase: str
    phase_at_ms: str
    phase_rank: str
    task_sid: str


# -- decoding: one function a document ----------------------------------------------------

_CONFERENCE = CONFERENCE.renames()
_PARTICIPANT = PARTICIPANT.renames()
_MONITOR = MONITOR.renames()
_HELP = HELP.renames()
_CARD = CARD.renames()
_TRANSCRIPT = TRANSCRIPT.renames()
_LINE = LINE.renames()
_PHRASE_HIT = PHRASE_HIT.renames()
_PHRASE_MUTE = PHRASE_MUTE.renames()
_WORKER = WORKER.renames()


def _renamed(stored: Stored, names: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    # A copy (in C) and the renames present moved: faster than building the dict key by key
    # (bench/render_cost.py), and the stored dict is left as it is for whoever else holds it.
    doc = dict(stored)
    for short, name in names:
        if short in doc:
            doc[name] = doc.pop(short)
    return doc


def conference_of(stored: Stored) -> Conference:
    """A stored conference document (JSON as the scripts write it) by readable names.

    Read-only: a part whose keys are all readable already (a monitor, help, a card) is the
    stored one, not a copy. Raises (AttributeError, TypeError) on a document that is not
    one: its reader flags it."""
    doc = _renamed(stored, _CONFERENCE)
    doc["participants"] = {
        sid: _renamed(p, _PARTICIPANT) for sid, p in (doc.get("participants") or {}).items()
    }
    monitors = doc.get("monitors") or {}
    doc["monitors"] = (
        {sup: _renamed(m, _MONITOR) for sup, m in monitors.items()} if _MONITOR else monitors
    )
    if not doc.get("help"):
        doc.pop("help", None)
    elif _HELP:
        doc["help"] = _renamed(doc["help"], _HELP)
    if _CARD and "cards" in doc:
        doc["cards"] = [_renamed(c, _CARD) for c in doc["cards"] or ()]
    if "transcript" in doc:
        tx = _renamed(doc["transcript"] or {}, _TRANSCRIPT)
        if tx.get("last_line"):
            tx["last_line"] = _renamed(tx["last_line"], _LINE)
        doc["transcript"] = tx
    if "phrases_heard" in doc:
        doc["phrases_heard"] = [_renamed(h, _PHRASE_HIT) for h in doc["phrases_heard"] or ()]
    if _PHRASE_MUTE and "phrases_muted" in doc:
        doc["phrases_muted"] = {
            k: _renamed(v, _PHRASE_MUTE) for k, v in (doc["phrases_muted"] or {}).items()
        }
    return cast(Conference, doc)


def monitor_of(stored: Stored) -> Monitor:
    """A monitor as monitor.lua answers it (its stored form) by readable names."""
    return cast(Monitor, _renamed(stored, _MONITOR))


def card_of(stored: Stored) -> Card:
    """A card as monitor.lua puts it on the feed (its stored form) by readable names."""
    return cast(Card, _renamed(stored, _CARD))


def worker_of(sid: str, registers: Mapping[str, str]) -> Worker:
    """A worker's registers (the hash's fields) by readable names, with its WorkerSid."""
    worker = _renamed(registers, _WORKER)
    worker["sid"] = sid
    return cast(Worker, worker)
