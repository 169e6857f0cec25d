"""The parts of issue 22 that need no server: words taken out of a call for a reader out of
reach, board views per scope, a person's share, a credential's expiry. Over HTTP they are
walked in test_authorization.py and test_stream_access.py."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from access.liveness import EXPIRED, Liveness
from access.policy import NO_WORDS, hears, words_scope
from access.principal import AGENT, SERVICE_PRINCIPAL, SUPERVISOR, Principal
from callbacks.errors import ApiError
from callbacks.shares import Shares
from live import words
from live.board import Filters, entries
from live.board_hub import View
from tests.live.test_floor_views import NOW, conference

LINES = {"en": "I will call my lawyer about this", "ja": "弁護士に相談します、解約したい"}
PHRASES = {"en": "lawyer", "ja": "re:解約"}


def with_words(sid: str, team: str, language: str) -> dict[str, Any]:
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    said = {"speaker": "customer", "text": LINES[language], "at": at, "final": True, "seq": 1,
            "id": "GT1:1"}  # fmt: skip
    c = conference(sid, started=0, team=team, alerts=("phrase",))
    c["transcript"] = {"state": "on", "paused_by": None, "since": None, "error": None,
                       "last": said}  # fmt: skip
    c["phrases"] = [{"phrase": PHRASES[language], "muted": False, "line": said}]
    return c


@pytest.mark.parametrize("language", ["en", "ja"])
def test_out_of_reach_a_call_keeps_its_alert_and_loses_its_words(language: str) -> None:
    c = with_words("CF1", "billing", language)
    hidden = words.for_scope(c, frozenset({"support"}))
    assert hidden["transcript"]["last"] is None and hidden["transcript"]["state"] == "on"
    assert hidden["phrases"] == [{"phrase": None, "muted": False, "line": None}]
    assert hidden["alerts"] == ["phrase"]
    assert LINES[language] not in repr(hidden) and PHRASES[language] not in repr(hidden)
    assert not words.has_words(hidden) and words.has_words(c)
    assert c["transcript"]["last"]["text"] == LINES[language]  # the shared rendering is intact
    assert words.for_scope(c, frozenset({"billing"})) is c
    assert words.for_scope(c, None) is c
    assert words.for_scope(c, NO_WORDS) == hidden


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_board_row_out_of_reach_says_an_alert_fired_not_what_was_said(language: str) -> None:
    [entry] = entries([with_words("CF1", "billing", language)], NOW, True)
    heard = entry.wire_for(True).decode()
    assert LINES[language][:20] in heard and PHRASES[language] in heard
    unheard = entry.wire_for(False).decode()
    assert LINES[language][:10] not in unheard and PHRASES[language] not in unheard
    assert "the call said a phrase" in unheard and '"said":""' in unheard
    assert entry.wire_for(False) is entry.wire_for(False)  # encoded once


def test_views_of_one_filter_differ_by_scope_and_are_shared_within_one() -> None:
    rows = entries([with_words("CF1", "billing", "en"), with_words("CF2", "support", "ja")],
                   NOW, True)  # fmt: skip
    lead = View(Filters(), frozenset({"billing"}))
    lead.update(rows, len(rows), b'"live":2', 1)
    message = lead.message(None).decode()
    assert LINES["en"][:20] in message  # their team's call
    assert "弁護士" not in message  # another team's
    manager = View(Filters(), None)
    manager.update(rows, len(rows), b'"live":2', 1)
    assert "弁護士" in manager.message(None).decode()


def test_words_follow_listening_for_every_kind_of_principal() -> None:
    lead = Principal(SUPERVISOR, "ken", "api-key", role="lead", teams=("support", "billing"))
    qa = Principal(SUPERVISOR, "quincy", "api-key", role="qa")
    agent = Principal(AGENT, "bob", "api-key", role="agent", teams=("sales-east",))
    assert words_scope(lead) == frozenset({"support", "billing"})
    assert words_scope(qa) is None
    assert words_scope(agent) == NO_WORDS and words_scope(SERVICE_PRINCIPAL) == NO_WORDS
    assert hears(lead, "billing") and not hears(lead, "sales-east") and not hears(lead, None)
    assert hears(qa, None) and not hears(agent, "sales-east")


def test_a_persons_share_is_counted_and_given_back_once() -> None:
    shares = Shares(streams_per_person=2, views_per_person=1)
    bob = Principal(AGENT, "bob", "api-key")
    first, second = shares.take(bob), shares.take(bob)
    with pytest.raises(ApiError) as refused:
        shares.take(bob)
    assert refused.value.status == 429 and "agent bob already holds 2" in str(refused.value)
    other = shares.take(SERVICE_PRINCIPAL, view="a")  # someone else is not starved
    with pytest.raises(ApiError):
        shares.take(SERVICE_PRINCIPAL, view="b")  # a second distinct view
    shares.take(SERVICE_PRINCIPAL, view="a").release()  # the same view is no new one
    first.release()
    first.release()  # once only: the stream's end and its response's end both give it back
    assert shares.streams["agent:bob"] == 1
    shares.take(bob)
    second.release()
    other.release()
    assert "service:" not in shares.views and shares.streams["service:"] == 0


def test_a_token_past_its_expiry_ends_its_streams() -> None:
    liveness = Liveness(redis=None, namespace="ep")  # type: ignore[arg-type]  # asks nothing
    gone = Principal(SUPERVISOR, "ana", "oidc", role="lead", until=time.time() - 1)
    assert asyncio.run(liveness.ended(gone)) == EXPIRED
    service = SERVICE_PRINCIPAL  # no key, no session, no expiry: nothing to ask Redis
    assert asyncio.run(liveness.ended(service)) is None
