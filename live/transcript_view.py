"""A live call's transcript as readers see it: its lines, its state, its phrase hits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

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


def transcript_state(
    doc: Mapping[str, Any], team_phrases: Iterable[str]
) -> tuple[Json, list[Json]]:
    """The conference's `transcript` (state, who paused it, last line) and the phrase hits of
    its team's phrases, from its document."""
    tx = doc.get("tx") or {}
    last = tx.get("last")
    state = {
        "state": tx.get("st") or "off",
        "paused_by": tx.get("by") if tx.get("st") == "paused" else None,
        "since": iso(tx.get("since")),
        "error": tx.get("err") if tx.get("st") == "error" else None,
        # The language Twilio was asked to transcribe in (issue 23), once it started.
        "language": tx.get("lang"),
        "last": line_json({**last, "f": True}) if last else None,
    }
    wanted = set(team_phrases)
    muted = doc.get("phm") or {}
    hits = [
        {
            "phrase": h.get("p"),
            "muted": h.get("p") in muted,
            "line": line_json({"s": h.get("s"), "t": h.get("t"), "at": h.get("at"), "f": True}),
        }
        for h in doc.get("ph") or ()
        if h.get("p") in wanted
    ]
    return state, hits
