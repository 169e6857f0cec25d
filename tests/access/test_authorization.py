"""Who may do what: one table of endpoint x credential kind x role x own/other team, walked
against the running service (real Redis, the simulator, personal keys, OIDC tokens of a
local issuer), plus forged, expired, revoked and replayed credentials.

The demo roster: bob's call is on sales-east. mina is a manager, ana leads sales-east
(own team), ken leads support and billing (other team), quincy is QA. bob is the call's
agent (own call); nick is another agent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.routing import Route, WebSocketRoute

from callbacks.app import routes
from tests.conftest import API_TOKEN, DEMO_ROSTER, Wired, session_token
from tests.oidc_issuer import AUDIENCE, Issuer, start_issuer

# Who asks, and with what. "oidc-ana" is an access token of the organisation's issuer;
# "session-ana" her dashboard session (`Authorization: Session …`, how the dashboard acts):
# both are ana, with exactly her rights.
PRINCIPALS = ("none", "service", "manager", "lead-own", "lead-other", "qa", "oidc-ana",
              "session-ana", "agent-own", "agent-other")  # fmt: skip
KEYS = {"manager": ("mina", "supervisor"), "lead-own": ("ana", "supervisor"),
        "lead-other": ("ken", "supervisor"), "qa": ("quincy", "supervisor"),
        "agent-own": ("bob", "agent"), "agent-other": ("nick", "agent")}  # fmt: skip
SELF = {"manager": "mina", "lead-own": "ana", "lead-other": "ken", "qa": "quincy",
        "oidc-ana": "ana", "session-ana": "ana"}  # fmt: skip

OK, UNAUTH, DENIED = "ok", "401", "403"
ALL_SUPERVISORS = ("manager", "lead-own", "lead-other", "qa", "oidc-ana", "session-ana")


def only(*allowed: str) -> dict[str, str]:
    """Allowed principals pass; every other credential is 403, no credential 401. ana's
    dashboard session may what her OIDC token may."""
    if "oidc-ana" in allowed:
        allowed = (*allowed, "session-ana")
    return {p: OK if p in allowed else (UNAUTH if p == "none" else DENIED) for p in PRINCIPALS}


PUBLIC = dict.fromkeys(PRINCIPALS, OK)
SIGNED = dict.fromkeys(PRINCIPALS, DENIED)  # Twilio's webhooks: a bearer credential is no signature
READERS = only("service", *ALL_SUPERVISORS)
WHISPERERS = only("manager", "lead-own", "oidc-ana")  # whisper on a sales-east call
LISTENERS = only("manager", "lead-own", "qa", "oidc-ana")  # listen on a sales-east call
SUPERVISORS = only(*ALL_SUPERVISORS)
AS_ANOTHER = only()  # a body or path naming someone else: refused for everyone
# Running the floor (issue 27): bob's (sales-east's) lead and managers; never QA or a token.
RUNNERS = only("manager", "lead-own", "oidc-ana")


@dataclass(frozen=True)
class Case:
    method: str
    route: str  # the route's path, as callbacks/app.py declares it
    path: str  # with this test's values ({sid}, {call}, {self}, {other})
    expect: dict[str, str]
    body: dict[str, Any] | None = None
    stream: bool = False


CASES = [
    Case("POST", "/twilio/conference-events", "/twilio/conference-events", SIGNED),
    Case("POST", "/twilio/call-events", "/twilio/call-events", SIGNED),
    Case("POST", "/twilio/taskrouter-events", "/twilio/taskrouter-events", SIGNED),
    Case("POST", "/twilio/twiml/customer", "/twilio/twiml/customer", SIGNED),
    Case("GET", "/twilio/twiml/customer", "/twilio/twiml/customer", SIGNED),
    Case("POST", "/twilio/twiml/agent", "/twilio/twiml/agent?task=x&agent=bob", SIGNED),
    Case("GET", "/twilio/twiml/agent", "/twilio/twiml/agent?task=x&agent=bob", SIGNED),
    Case("GET", "/api/conferences", "/api/conferences", READERS),
    Case("GET", "/api/conferences/{sid}", "/api/conferences/{sid}", READERS),
    Case("GET", "/api/calls/{call_sid}", "/api/calls/{call}",
         only("service", *ALL_SUPERVISORS, "agent-own")),
    # A ticket to hear the call in the browser: the same people as listening (issue 26).
    Case("POST", "/api/conferences/{sid}/listen", "/api/conferences/{sid}/listen", LISTENERS),
    Case("POST", "/api/conferences/{sid}/monitors", "/api/conferences/{sid}/monitors",
         WHISPERERS, {"supervisor": "{self}", "mode": "whisper", "takeover": True}),
    Case("POST", "/api/conferences/{sid}/monitors", "/api/conferences/{sid}/monitors",
         AS_ANOTHER, {"supervisor": "{other}", "mode": "listen"}),
    Case("PATCH", "/api/conferences/{sid}/monitors/{supervisor}",
         "/api/conferences/{sid}/monitors/{self}", LISTENERS, {"mode": "listen"}),
    Case("PATCH", "/api/conferences/{sid}/monitors/{supervisor}",
         "/api/conferences/{sid}/monitors/{other}", AS_ANOTHER, {"mode": "listen"}),
    Case("DELETE", "/api/conferences/{sid}/monitors/{supervisor}",
         "/api/conferences/{sid}/monitors/{self}", SUPERVISORS),
    Case("DELETE", "/api/conferences/{sid}/monitors/{supervisor}",
         "/api/conferences/{sid}/monitors/{other}", AS_ANOTHER),
    Case("POST", "/api/calls/{call_sid}/help", "/api/calls/{call}/help", only("agent-own")),
    Case("DELETE", "/api/calls/{call_sid}/help", "/api/calls/{call}/help", only("agent-own")),
    Case("POST", "/api/calls/{call_sid}/cards", "/api/calls/{call}/cards", WHISPERERS,
         {"text": "Ask for the order number"}),
    Case("POST", "/api/calls/{call_sid}/cards", "/api/calls/{call}/cards", AS_ANOTHER,
         {"supervisor": "{other}", "text": "Sent in someone else's name"}),
    Case("PUT", "/api/supervisors/{supervisor}/follow", "/api/supervisors/{self}/follow",
         LISTENERS, {"agent": "bob"}),
    Case("PUT", "/api/supervisors/{supervisor}/follow", "/api/supervisors/{other}/follow",
         AS_ANOTHER, {"agent": "bob"}),
    Case("DELETE", "/api/supervisors/{supervisor}/follow", "/api/supervisors/{self}/follow",
         SUPERVISORS),
    Case("DELETE", "/api/supervisors/{supervisor}/follow", "/api/supervisors/{other}/follow",
         AS_ANOTHER),
    Case("GET", "/api/follows", "/api/follows", READERS),
    Case("GET", "/api/queues", "/api/queues", READERS),
    Case("GET", "/api/agents", "/api/agents", READERS),
    Case("GET", "/api/audit", "/api/audit", SUPERVISORS),
    Case("GET", "/api/audit.csv", "/api/audit.csv", SUPERVISORS),
    Case("POST", "/api/events/ticket", "/api/events/ticket",
         only("service", *ALL_SUPERVISORS, "agent-own", "agent-other")),
    Case("GET", "/events", "/events",
         only("service", *ALL_SUPERVISORS, "agent-own", "agent-other"), stream=True),
    Case("GET", "/events/board", "/events/board", READERS, stream=True),
    Case("OPTIONS", "/events/board", "/events/board", PUBLIC),
    Case("POST", "/twilio/transcription-events", "/twilio/transcription-events", SIGNED),
    Case("GET", "/twilio/transcription-events", "/twilio/transcription-events", SIGNED),
    # A call's words: whoever may listen to the call (a lead of another team may not),
    # never the shared service token (issue 22).
    Case("GET", "/api/conferences/{sid}/transcript", "/api/conferences/{sid}/transcript",
         LISTENERS),
    Case("GET", "/events/transcript", "/events/transcript?sid={sid}", LISTENERS, stream=True),
    Case("OPTIONS", "/events/transcript", "/events/transcript", PUBLIC),
    # Pausing for a payment: whoever may listen to the call, and the call's own agent.
    Case("POST", "/api/conferences/{sid}/transcript/pause",
         "/api/conferences/{sid}/transcript/pause", LISTENERS),
    Case("DELETE", "/api/conferences/{sid}/transcript/pause",
         "/api/conferences/{sid}/transcript/pause", LISTENERS),
    Case("POST", "/api/calls/{call_sid}/transcript/pause", "/api/calls/{call}/transcript/pause",
         only("manager", "lead-own", "qa", "oidc-ana", "agent-own")),
    Case("DELETE", "/api/calls/{call_sid}/transcript/pause", "/api/calls/{call}/transcript/pause",
         only("manager", "lead-own", "qa", "oidc-ana", "agent-own")),
    Case("POST", "/api/conferences/{sid}/phrases/mute", "/api/conferences/{sid}/phrases/mute",
         WHISPERERS),
    Case("POST", "/twilio/recording-events", "/twilio/recording-events", SIGNED),
    Case("GET", "/twilio/recording-events", "/twilio/recording-events", SIGNED),
    # The archive: people only; a lead finds their own teams' calls (the call here is live,
    # so not archived: 404, which is no refusal).
    Case("GET", "/api/history", "/api/history", SUPERVISORS),
    Case("GET", "/api/history/{sid}", "/api/history/{sid}", SUPERVISORS),
    Case("GET", "/api/history/{sid}/recordings/{recording}",
         "/api/history/{sid}/recordings/RE0123456789abcdef0123456789abcdef", SUPERVISORS),
    Case("POST", "/api/history/{sid}/reviews", "/api/history/{sid}/reviews", SUPERVISORS,
         {"score": 90}),
    Case("GET", "/api/reviews", "/api/reviews", SUPERVISORS),
    Case("GET", "/api/reviews.csv", "/api/reviews.csv", SUPERVISORS),
    # Running the floor (issue 27). This floor has no TaskRouter: the agents' endpoints
    # answer 409 no-taskrouter to those who may ask, after the check of who may.
    Case("GET", "/api/activities", "/api/activities", READERS),
    Case("PUT", "/api/agents/{agent}/activity", "/api/agents/bob/activity", RUNNERS,
         {"activity": "Break", "when": "after-call", "reason": "1on1"}),
    Case("DELETE", "/api/agents/{agent}/activity/pending", "/api/agents/bob/activity/pending",
         RUNNERS),
    Case("POST", "/api/agents/{agent}/wrap-up/complete", "/api/agents/bob/wrap-up/complete",
         RUNNERS, {"reason": "left in wrap-up"}),
    # Without {"confirm": true} an allowed supervisor gets 422: the call goes on for the rest.
    Case("POST", "/api/conferences/{sid}/end", "/api/conferences/{sid}/end", RUNNERS, {}),
    Case("DELETE", "/api/conferences/{sid}/participants/{call_sid}",
         "/api/conferences/{sid}/participants/CA00000000000000000000000000000000", RUNNERS),
    Case("GET", "/healthz", "/healthz", PUBLIC),
    Case("GET", "/metrics", "/metrics", PUBLIC),
]  # fmt: skip


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    running = start_issuer()
    yield running
    assert running.thread is not None
    running.thread.stop()


@pytest.fixture
def floor(wiring: Callable[..., Wired], issuer: Issuer) -> Wired:
    return wiring(EARPIECE_OIDC_ISSUER=issuer.url, EARPIECE_OIDC_AUDIENCE=AUDIENCE)


def credential(wired: Wired, issuer: Issuer, principal: str) -> str | None:
    if principal == "none":
        return None
    if principal == "service":
        return API_TOKEN
    if principal == "oidc-ana":
        return issuer.token("ana@demo.earpiece.example")
    owner, kind = KEYS[principal]
    return wired.key(owner, kind)


def client_of(wired: Wired, issuer: Issuer, principal: str) -> httpx.Client:
    """A client that asks as `principal`: a bearer credential, or a dashboard session."""
    if principal == "session-ana":
        assert wired.service.settings is not None
        token = session_token(wired.service.settings, "ana")
        return httpx.Client(base_url=wired.service.url, timeout=10,
                            headers={"Authorization": f"Session {token}"})  # fmt: skip
    return wired.service.client(credential(wired, issuer, principal))


def outcome(status: int) -> str:
    assert status < 500, status
    return {401: UNAUTH, 403: DENIED}.get(status, OK)


def ask(http: httpx.Client, case: Case, path: str, body: dict[str, Any] | None) -> int:
    if case.stream:
        with http.stream(case.method, path) as response:
            return response.status_code
    return http.request(case.method, path, json=body).status_code


def fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


# WebSocket routes take no bearer credential: each is covered by its own tests.
WEBSOCKETS = {
    # a one-time ticket for that call and person; a lead of another team, a ticket for
    # another call, a used ticket, sign-out and revocation refused or ended
    "/listen/audio": "tests/callbacks/test_listen.py",
    # Twilio's signature on the upgrade: 403 without it
    "/twilio/media-stream": "tests/callbacks/test_listen.py",
}


def test_the_table_covers_every_endpoint() -> None:
    declared = {(m, r.path) for r in routes() if isinstance(r, Route) for m in (r.methods or ())
                if m != "HEAD"}  # fmt: skip
    covered = {(c.method, c.route) for c in CASES}
    assert declared == covered
    sockets = {r.path for r in routes() if isinstance(r, WebSocketRoute)}
    assert sockets == set(WEBSOCKETS)


def test_every_endpoint_answers_each_credential_as_the_table_says(
    floor: Wired, issuer: Issuer
) -> None:
    call = floor.new_call("bob")
    wrong: list[str] = []
    for principal in PRINCIPALS:
        me = SELF.get(principal, "mina")
        values = {"sid": call["conference_sid"], "call": call["agent_call_sid"], "self": me,
                  "other": "ken" if me != "ken" else "ana"}  # fmt: skip
        with client_of(floor, issuer, principal) as http:
            for case in CASES:
                body = {k: fill(v, values) if isinstance(v, str) else v
                        for k, v in (case.body or {}).items()}  # fmt: skip
                path = fill(case.path, values)
                got = outcome(ask(http, case, path, body if case.body is not None else None))
                if got != case.expect[principal]:
                    wrong.append(f"{principal} {case.method} {path}: {got}, "
                                 f"expected {case.expect[principal]}")  # fmt: skip
    assert not wrong, "\n".join(wrong)


def test_forged_expired_revoked_and_replayed_credentials_are_refused(
    floor: Wired, issuer: Issuer
) -> None:
    key = floor.key("mina")
    good = issuer.token("mina@demo.earpiece.example")
    key_id, secret = key.split("_")[1], key.split("_", 2)[2]
    other_key = Issuer()  # the same key id, another private key: a forged signature
    forged = [
        key[:-2] + ("AA" if not key.endswith("AA") else "BB"),  # a wrong secret
        f"epk_{'0' * 12}_{secret}",  # an unknown id
        "epk_" + "x" * 300,
        "not-the-service-token",
        issuer.token("mina@demo.earpiece.example", exp=1_000_000),  # expired
        issuer.token("mina@demo.earpiece.example", aud="someone-else"),
        issuer.token("mina@demo.earpiece.example", iss="https://evil.example"),
        issuer.token("nobody@demo.earpiece.example"),  # not on the roster
        issuer.token("mina@demo.earpiece.example", key=other_key.key),
        good.rsplit(".", 1)[0] + ".",  # signature removed
        "eyJhbGciOiJub25lIn0." + good.split(".")[1] + ".",  # alg none
    ]
    for bad in forged:
        with floor.service.client(bad) as http:
            answer = http.get("/api/conferences")
            assert answer.status_code == 401, bad
            assert answer.headers["www-authenticate"].startswith("Bearer")
    with floor.service.client(good) as http:
        assert http.get("/api/conferences").status_code == 200
    # Long-lived credentials never ride in a URL.
    with floor.service.client() as http:
        assert http.get(f"/api/conferences?token={API_TOKEN}").status_code == 401
        with http.stream("GET", f"/events?token={API_TOKEN}") as stream:
            assert stream.status_code == 401
    # A ticket opens one stream, once.
    with floor.api("mina") as http:
        ticket = http.post("/api/events/ticket?stream=board").json()["ticket"]
    with floor.service.client() as http:
        with http.stream("GET", f"/events/board?ticket={ticket}") as first:
            assert first.status_code == 200
        with http.stream("GET", f"/events/board?ticket={ticket}") as replayed:
            assert replayed.status_code == 401
    # Revoked: the next request with the key is refused.
    from access import api_keys
    from core.redis_client import RedisTarget, sync_client

    settings = floor.service.settings
    assert settings is not None and settings.redis_url is not None
    redis = sync_client(RedisTarget(settings.redis_url, False, None))
    redis.hdel(api_keys.hash_key(settings.namespace), key_id)
    redis.close()
    with floor.service.client(key) as http:
        assert http.get("/api/conferences").status_code == 401


def test_actions_are_audited_under_the_credentials_owner(floor: Wired, issuer: Issuer) -> None:
    call = floor.new_call("bob")
    sid = call["conference_sid"]
    token = issuer.token("ana@demo.earpiece.example")
    with floor.service.client(token) as http:
        joined = http.post(f"/api/conferences/{sid}/monitors", json={"mode": "listen"})
        assert joined.status_code == 201 and joined.json()["supervisor"] == "ana"
        card = http.post(f"/api/calls/{call['agent_call_sid']}/cards", json={"text": "Hi"})
        assert card.status_code == 201 and card.json()["supervisor"] == "ana"
    with floor.api("mina") as http:
        entries = http.get("/api/audit", params={"conference": sid}).json()["entries"]
    assert {(e["action"], e["supervisor"]) for e in entries} >= {("join", "ana"), ("card", "ana")}


def session(wired: Wired, token: str) -> httpx.Client:
    return httpx.Client(base_url=wired.service.url, timeout=10,
                        headers={"Authorization": f"Session {token}"})  # fmt: skip


def test_a_dashboard_session_acts_as_its_supervisor_until_it_ends(floor: Wired) -> None:
    """How the dashboard acts (issue 24): the signed-in supervisor's session is a credential
    of the API, the same principal as their personal key: their rights, their name in the
    audit, and nothing once the session ends."""
    import asyncio

    from access.sessions import SessionStore
    from core.redis_client import RedisTarget, async_client
    from tests.conftest import SESSION_SECRET

    settings = floor.service.settings
    assert settings is not None and settings.redis_url is not None
    bob = floor.new_call("bob")
    sid = bob["conference_sid"]
    ana, ken = session_token(settings, "ana"), session_token(settings, "ken")
    with session(floor, ana) as http:
        joined = http.post(f"/api/conferences/{sid}/monitors", json={"mode": "whisper"})
        assert joined.status_code == 201 and joined.json()["supervisor"] == "ana"
        card = http.post(f"/api/calls/{bob['agent_call_sid']}/cards", json={"text": "Hi"})
        assert card.status_code == 201
        # A body never says who acts: not even a session's.
        other = http.patch(f"/api/conferences/{sid}/monitors/mina", json={"mode": "listen"})
        assert other.status_code == 403
    with floor.api("mina") as http:
        entries = http.get("/api/audit", params={"conference": sid}).json()["entries"]
    assert {(e["action"], e["supervisor"]) for e in entries} >= {("join", "ana"), ("card", "ana")}
    # ken leads support and billing: bob's sales-east call is not his, by session or key.
    with session(floor, ken) as http:
        refused = http.post(f"/api/conferences/{sid}/monitors", json={"mode": "listen"})
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "not-allowed"
        ended = http.post(f"/api/conferences/{sid}/end", json={"confirm": True})
        assert ended.status_code == 403
    # Unknown, signed out, past its maximum age: 401, and nothing was done.
    with session(floor, "x" * 43) as http:
        assert http.get("/api/conferences").status_code == 401

    async def end(who: str, aged: str | None = None) -> None:
        redis = async_client(RedisTarget(settings.redis_url or "", False, None), 2)
        store = SessionStore(redis, settings.namespace, SESSION_SECRET, 3600)
        try:
            if aged is not None:  # opened longer ago than the service's maximum age
                created = time.time() - settings.session_hours * 3600 - 60
                body = json.dumps({"supervisor": who, "created": created})
                await redis.set(store.key(aged), body, ex=60)
            else:
                await store.end_all(who)
        finally:
            await redis.aclose()

    asyncio.run(end("ken", aged=ken))
    with session(floor, ken) as http:
        assert http.get("/api/conferences").status_code == 401
    asyncio.run(end("ana"))
    with session(floor, ana) as http:
        gone = http.delete(f"/api/conferences/{sid}/monitors/ana")
        assert gone.status_code == 401 and "signed out" in gone.json()["error"]["message"]
    assert floor.monitor(sid, "ana") is not None


def test_a_lead_reads_only_their_teams_audit(floor: Wired) -> None:
    bob = floor.new_call("bob")["conference_sid"]
    nick = floor.new_call("nick")["conference_sid"]
    with floor.api("mina") as http:
        assert http.post(f"/api/conferences/{bob}/monitors", json={"mode": "listen"}).is_success
    with floor.api("ken") as http:
        assert http.post(f"/api/conferences/{nick}/monitors", json={"mode": "listen"}).is_success
    with floor.api("ana") as http:  # sales-east: bob's calls, not nick's
        seen = {e["conference_sid"] for e in http.get("/api/audit").json()["entries"]}
    assert bob in seen and nick not in seen
    with floor.api("quincy") as http:  # QA reads everything
        seen = {e["conference_sid"] for e in http.get("/api/audit").json()["entries"]}
    assert {bob, nick} <= seen


def test_an_agents_softphone_gets_only_its_own_cards(floor: Wired) -> None:
    from httpx_sse import connect_sse

    bob = floor.new_call("bob")
    nick = floor.new_call("nick")
    with floor.api("bob", "agent") as http, connect_sse(http, "GET", "/events?snapshot=1") as src:
        with floor.api("mina") as mina:
            for call, text in ((nick, "for nick"), (bob, "for bob")):
                sent = mina.post(f"/api/calls/{call['agent_call_sid']}/cards", json={"text": text})
                assert sent.status_code == 201, sent.text
        kinds = []
        for event in src.iter_sse():
            kinds.append(event.event)
            if event.event == "card":
                assert '"for bob"' in event.data and "for nick" not in event.data
                break
    # The snapshot of an agent holds no conference: only its cards reach it.
    assert "conference" not in kinds and kinds[0] == "reset"


# -- a call's words (issue 22): every place they appear, per role and team -------------------

# Said on bob's sales-east call, in English and in Japanese; each one raises a phrase alert
# (the demo roster's "speak to your manager", and a Japanese phrase added for this test).
SAID_EN = "Please let me speak to your manager about the refund"
SAID_JA = "解約したいです、返金してください"
JA_PHRASE = "re:解約"
WORDS = ("speak to your manager", "refund", "解約", "返金")
WORD_PRINCIPALS = ("service", "manager", "lead-own", "lead-other", "qa", "agent-own")
HEARS = ("manager", "lead-own", "qa")  # whoever may listen to a sales-east call
SURFACES = ("GET /api/conferences", "GET /api/conferences/{sid}",
            "GET /api/conferences/{sid}/transcript", "GET /events (snapshot and lines)",
            "GET /events/board", "GET /events/transcript")  # fmt: skip
WORDS_SEEN, NO_WORDS_SEEN, REFUSED = "words", "no words", "refused"


def words_expected(surface: str, principal: str) -> str:
    if principal in HEARS:
        return WORDS_SEEN
    if principal == "agent-own":  # a softphone: only its cards, on /events
        return NO_WORDS_SEEN if surface.startswith("GET /events (") else REFUSED
    if surface in ("GET /api/conferences/{sid}/transcript", "GET /events/transcript"):
        return REFUSED  # the service token, a lead of another team
    return NO_WORDS_SEEN  # the floor, with the alerts but without the words


@pytest.fixture
def japanese_roster(tmp_path: Any) -> str:
    """The demo roster, with a Japanese phrase among sales-east's."""
    from pathlib import Path

    text = Path(DEMO_ROSTER).read_text(encoding="utf-8")
    marker = 'phrases = ["cancel my account", "speak to your manager", "lawyer", "re:'
    assert marker in text
    text = text.replace(marker, f'phrases = ["{JA_PHRASE}", ' + marker[len("phrases = [") :], 1)
    path = tmp_path / "roster.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def say_line(wired: Wired, call_sid: str, text: str, seq: int) -> None:
    """A final line of Twilio's real-time transcription on the customer's leg, dated now."""
    from datetime import UTC, datetime

    from tests.helpers import post_signed

    settings = wired.service.settings
    assert settings is not None
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    params = {"AccountSid": "AC" + "0" * 32, "CallSid": call_sid,
              "TranscriptionSid": "GT" + "c" * 32, "Timestamp": now, "SequenceId": str(seq),
              "TranscriptionEvent": "transcription-content", "Track": "inbound_track",
              "Final": "true", "LanguageCode": "ja-JP",
              "TranscriptionData": json.dumps({"transcript": text, "confidence": 0.9})}  # fmt: skip
    with httpx.Client(base_url=wired.service.url, timeout=10) as http:
        answer = post_signed(http, settings, "/twilio/transcription-events", params)
    assert answer.status_code == 204, answer.text


def verdict(status: int | None, payload: str) -> str:
    """What a principal got on one surface: refused, words, or the floor without words."""
    if status in (401, 403):
        return REFUSED
    return WORDS_SEEN if any(w in payload for w in WORDS) else NO_WORDS_SEEN


def test_a_calls_words_reach_only_those_who_may_listen_to_it_on_every_surface(
    wiring: Callable[..., Wired], japanese_roster: str
) -> None:
    from tests.live.test_board import Watcher

    floor = wiring(EARPIECE_ROSTER=japanese_roster, EARPIECE_SSE_PING_SECONDS="1")
    call = floor.new_call("bob")  # sales-east: ana's team, not ken's
    sid = call["conference_sid"]
    floor.wait(lambda: (floor.conference(sid) or {}).get("state") == "talking")
    clients = {p: floor.service.client(API_TOKEN if p == "service" else floor.key(*KEYS[p]))
               for p in WORD_PRINCIPALS}  # fmt: skip
    streams = {p: Watcher(clients[p], "/events?snapshot=1") for p in WORD_PRINCIPALS}
    boards = {p: Watcher(clients[p], "/events/board") for p in WORD_PRINCIPALS}
    say_line(floor, call["customer_call_sid"], SAID_EN, 1)
    say_line(floor, call["customer_call_sid"], SAID_JA, 2)

    def said(watcher: Watcher, *texts: str) -> bool:
        got = "".join(e.data for e in list(watcher.events))
        return all(t in got for t in texts)

    # Whoever may hear the call gets both lines, live, and the board's "Last said"...
    for p in HEARS:
        floor.wait(lambda p=p: said(streams[p], SAID_EN, SAID_JA), 10)
        floor.wait(lambda p=p: said(boards[p], SAID_JA[:20]), 10)
    # ... and the phrase alert reaches everyone who watches the floor (without the words).
    for p in ("service", "lead-other"):
        floor.wait(lambda p=p: any(
            "phrase" in json.loads(e.data)["rows"].get(sid, {}).get("alerts", "")
            for e in list(boards[p].events) if e.event == "board"), 10)  # fmt: skip
    time.sleep(1.0)  # whatever else was going out to the others has gone out
    seen: dict[tuple[str, str], str] = {}
    for p in WORD_PRINCIPALS:
        http = clients[p]
        for surface in SURFACES[:3]:
            answer = http.get(surface.removeprefix("GET ").replace("{sid}", sid))
            assert answer.status_code < 500
            seen[(surface, p)] = verdict(answer.status_code, answer.text)
        page = Watcher(http, f"/events/transcript?sid={sid}")
        if page.status == 200:
            floor.wait(lambda page=page: bool(page.events), 5)
        for surface, watcher in ((SURFACES[3], streams[p]), (SURFACES[4], boards[p]),
                                 (SURFACES[5], page)):  # fmt: skip
            got = "".join(e.data for e in list(watcher.events))
            seen[(surface, p)] = verdict(watcher.status, got)
    expected = {(s, p): words_expected(s, p) for s in SURFACES for p in WORD_PRINCIPALS}
    wrong = [f"{p} {s}: {seen[(s, p)]}, expected {expected[(s, p)]}"
             for (s, p) in expected if seen[(s, p)] != expected[(s, p)]]  # fmt: skip
    assert not wrong, "\n".join(wrong)

    # Out of reach, an alert still says it fired: the `phrase` alert, a hit with no phrase.
    for p in ("service", "lead-other"):
        shown = clients[p].get(f"/api/conferences/{sid}").json()
        assert "phrase" in shown["alerts"] and shown["transcript"]["last"] is None
        assert shown["phrases"] and all(h["phrase"] is None and h["line"] is None
                                        for h in shown["phrases"])  # fmt: skip
        rows = [json.loads(e.data)["rows"].get(sid) for e in boards[p].events if e.event == "board"]
        row = [r for r in rows if r][-1]
        assert row["said"] == "" and "the call said a phrase" in row["why"]
        help_cues = [c for e in boards[p].events if e.event == "board"
                     for c in json.loads(e.data)["help"] if c["sid"] == sid]  # fmt: skip
        assert help_cues and all(c["phrase"] is None for c in help_cues)
    heard = clients["lead-own"].get(f"/api/conferences/{sid}").json()
    assert {h["phrase"] for h in heard["phrases"]} >= {"speak to your manager", JA_PHRASE}
    assert heard["transcript"]["last"]["text"] == SAID_JA
    for http in clients.values():
        http.close()
    for w in Watcher.open:
        w.close()
    Watcher.open.clear()


def test_reads_of_words_are_audited_with_who_which_call_and_how(
    wiring: Callable[..., Wired],
) -> None:
    floor = wiring()
    call = floor.new_call("bob")
    sid = call["conference_sid"]
    say_line(floor, call["customer_call_sid"], SAID_EN, 1)
    with floor.api("ana") as lead:
        assert lead.get(f"/api/conferences/{sid}/transcript").status_code == 200
        assert lead.get(f"/api/conferences/{sid}").status_code == 200
    with floor.api("ken") as other:  # refused: nothing read, nothing to audit
        assert other.get(f"/api/conferences/{sid}/transcript").status_code == 403
    with floor.api() as token:  # the service token reads the floor without words: no entry
        assert token.get("/api/conferences").status_code == 200
        words = token.get(f"/api/conferences/{sid}/transcript")
        # Refused as a read (what it may not read, and with what), not told to "act".
        assert words.status_code == 403 and words.json()["error"]["message"] == (
            "the service token reads the floor, not a call's words: use a personal credential"
        )
    with floor.api("mina") as manager:
        entries = manager.get("/api/audit", params={"conference": sid}).json()["entries"]
    reads = [(e["supervisor"], e["detail"], e["mode"]) for e in entries
             if e["action"] == "words-read"]  # fmt: skip
    assert ("ana", "GET /api/conferences/{sid}/transcript", "api-key") in reads
    assert ("ana", "GET /api/conferences/{sid}", "api-key") in reads
    assert all(who == "ana" for who, _, _ in reads), reads
    # A stream of many calls' words is audited when it opens, naming whose words it carries;
    # the service token's stream carries none, and is not.
    for who in ("ana", None):
        with floor.api(who) as http, http.stream("GET", "/events") as opened:
            assert opened.status_code == 200
    with floor.api("mina") as manager:
        entries = manager.get("/api/audit").json()["entries"]
    floor_reads = [(e["supervisor"], e["detail"]) for e in entries
                   if e["action"] == "words-read" and not e["conference_sid"]]  # fmt: skip
    assert floor_reads == [("ana", "GET /events (words of sales-east)")]
