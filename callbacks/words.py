"""A call's words through the API: only for those who may hear the call, and every read audited.

access/policy.py says who may hear a call (`hears`, `words_scope`: the same
rule as listening to it); live/words.py takes the words out for the others.
Here: the per-call check of the transcript endpoints, and the audit of each
read of words (`words-read`: who, which call, how). A stream that carries
the words of many calls (the floor's `/events`, `/events/board`) is audited
once when it opens, naming the teams whose words it carries; a read of one
call's words names that call.
"""

from __future__ import annotations

import logging
from typing import Any

from access.policy import WordsScope, words_refusal
from access.principal import Principal
from callbacks.context import Context
from callbacks.errors import ApiError
from live.words import READ_ACTION, read_detail

log = logging.getLogger("earpiece.words")


async def hearable(ctx: Context, who: Principal, sid: str) -> dict[str, Any]:
    """The live conference `sid`, if `who` may hear its words: 404 unknown, 403 otherwise."""
    conference = await ctx.floor.conference(sid)
    if conference is None:
        raise ApiError(404, "unknown-conference", f"no conference {sid}")
    reason = words_refusal(who, conference.get("team"))
    if reason is not None:
        raise ApiError(403, "forbidden", reason)
    return conference


async def audit(
    ctx: Context,
    who: Principal,
    how: str,
    conference: dict[str, Any] | None = None,
    scope: WordsScope = None,
) -> None:
    """Record that `who` read words: of `conference`, or (None) of the calls of `scope`."""
    detail = how if conference is not None else read_detail(how, scope)
    try:
        await ctx.coach.audit.record(
            READ_ACTION,
            who.audit_name(),
            (conference or {}).get("sid") or "",
            agent=(conference or {}).get("agent") or "",
            friendly_name=(conference or {}).get("friendly_name") or "",
            mode=who.via,
            detail=detail[:200],
        )
    except Exception:
        # The read is refused rather than done unaudited.
        log.warning("could not audit a read of words by %s", who.audit_name(), exc_info=True)
        raise ApiError(
            503,
            "audit-unavailable",
            "reads of a call's words are audited, and the audit cannot be written now",
            {"Retry-After": "5"},
        ) from None
