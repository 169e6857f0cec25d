"""A live call's transcript as readers see it: its lines, its state, its phrase hits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.documents import Conference, Line, PhraseHit, Transcript
from core.times import iso

Json = dict[str, Any]


def line_json(raw: dict[str, Any]) -> Json:
    """A transcript line as the API and SSE give it. `id` names the line (a partial and the
    final that replaces it differ); `seq` orders the lines of one transcription."""
    seq = raw.get("q")
    return {
        "speaker": raw.get("s"),
        "text": raw.get("t") or "",
        "at": iso(raw.get("at")),
        "final": bool(raw.get("f")),
        "seq": seq,
        "id": f"{raw.get('g')}:{seq}" if raw.get("g") and seq is not None else None,
    }


def final_json(line: Line | PhraseHit) -> Json:
    """A conference's last line, or a phrase hit's line, as line_json gives a final."""
    return {
        "speaker": line.get("speaker"), "text": line.get("text") or "",
        "at": iso(line.get("at")), "final": True, "seq": None, "id": None,
    }  # fmt: skip


def transcript_state(doc: Conference, team_phrases: Iterable[str]) -> tuple[Json, list[Json]]:
    """The conference's `transcript` (state, who paused it, last line) and the phrase hits of
    its team's phrases, from its document."""
    tx: Transcript = doc.get("transcript") or {}
    last = tx.get("last_line")
    state = {
        "state": tx.get("state") or "off",
        "paused_by": tx.get("paused_by") if tx.get("state") == "paused" else None,
        "since": iso(tx.get("since")),
        "error": tx.get("error") if tx.get("state") == "error" else None,
        # The language Twilio was asked to transcribe in (issue 23), once it started.
        "language": tx.get("language"),
        "last": final_json(last) if last else None,
    }
    wanted = set(team_phrases)
    muted = doc.get("phrases_muted") or {}
    hits = [
        {"phrase": h.get("phrase"), "muted": h.get("phrase") in muted, "line": final_json(h)}
        for h in doc.get("phrases_heard") or ()
        if h.get("phrase") in wanted
    ]
    return state, hits
