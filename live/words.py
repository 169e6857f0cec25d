"""A call's words, only for those who may hear the call (issue 22).

Words are what was said on a call: its transcript lines, the last line a
conference carries (`transcript.last`, the board's "Last said") and its
phrase alerts (which phrase, and the line that said it: "lawyer" is words
too); and what its supervisors whispered in writing, its text cards (they
quote the customer as often as not). Whoever may not listen to a call
(access/policy.py `words_scope`: a lead of another team, an agent's
softphone, the service token behind a wallboard) still learns that the call
is transcribed, that a phrase alert fired (the `phrase` alert, a hit's
`muted` and when it was said) and that a card was sent (by whom, when), but
never the words: `transcript.last` is null, each hit's `phrase` and `line`
null, and each card's `text` null.

The floor renders a conference once; a reader out of reach gets a copy made
here (only conferences that carry words are copied), like live/privacy.py
does for customers' numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Json = dict[str, Any]

# The teams whose calls' words a reader may have (access/policy.py `words_scope` decides):
# None for every team, else those teams (empty: none). What a words surface shares between
# readers is keyed on this, so the leads of one team share one rendering.
WordsScope = frozenset[str] | None
NO_WORDS: WordsScope = frozenset()


# The audit's name for a read of words, and what it says of a read of many calls' words: the
# service and the dashboard record their reads alike (callbacks/words.py, dashboard/word_reads.py).
READ_ACTION = "words-read"


def read_detail(how: str, scope: WordsScope) -> str:
    """A read of the words of `scope`'s calls (not one call's), as the audit says it."""
    teams = "every team" if scope is None else ", ".join(sorted(scope)) or "no team"
    return f"{how} (words of {teams})"


def in_scope(scope: WordsScope, team: str | None) -> bool:
    return scope is None or (team is not None and team in scope)


def has_words(conference: Mapping[str, Any]) -> bool:
    if (conference.get("transcript") or {}).get("last"):
        return True
    if any(card.get("text") for card in conference.get("cards") or ()):
        return True
    return any(h.get("phrase") or h.get("line") for h in conference.get("phrases") or ())


def hidden(conference: Mapping[str, Any]) -> Json:
    """`conference` without its words (the same object if it has none)."""
    if not has_words(conference):
        return dict(conference) if not isinstance(conference, dict) else conference
    out = dict(conference)
    if (conference.get("transcript") or {}).get("last"):
        out["transcript"] = {**conference["transcript"], "last": None}
    if conference.get("phrases"):  # what each hit says goes; that it fired stays
        out["phrases"] = [
            {"phrase": None, "muted": bool(h.get("muted")), "line": None}
            for h in conference["phrases"]
        ]
    if conference.get("cards"):  # what each card says goes; who sent it, and when, stays
        out["cards"] = [{**card, "text": None} for card in conference["cards"]]
    return out


def for_scope(conference: Json, scope: WordsScope) -> Json:
    """The conference as a reader of `scope` may see it."""
    return conference if in_scope(scope, conference.get("team")) else hidden(conference)


def all_for_scope(conferences: Iterable[Json], scope: WordsScope) -> list[Json]:
    if scope is None:
        return list(conferences)
    return [for_scope(c, scope) for c in conferences]


def hidden_cue(cue: Json) -> Json:
    """A floor cue (live/board.py `cues`) for a call out of reach: a phrase alert says that
    it fired, and on whose call, not which phrase."""
    return {**cue, "phrase": None} if cue.get("phrase") else cue
