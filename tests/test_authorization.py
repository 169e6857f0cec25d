"""Who may do what: one table of endpoint x credential kind x role x own/other team, walked
against the running service (real Redis, the simulator, personal keys, OIDC tokens of a
local issuer), plus forged, expired, revoked and replayed credentials.

The demo roster: bob's call is on sales-east. mina is a manager, ana leads sales-east
(own team), ken leads support and billing (other team), quincy is QA. bob is the call's
agent (own call); nick is another agent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from callbacks.app import routes
from tests.conftest import API_TOKEN, Wired
from tests.oidc_issuer import AUDIENCE, Issuer, start_issuer

# Who asks, and with what. "oidc-ana" is an access token of the organisation's issuer.
PRINCIPALS = ("none", "service", "manager", "lead-own", "lead-other", "qa", "oidc-ana",
              "agent-own", "agent-other")  # fmt: skip
KEYS = {"manager": ("mina", "supervisor"), "lead-own": ("ana", "supervisor"),
        "lead-other": ("ken", "supervisor"), "qa": ("quincy", "supervisor"),
        "agent-own": ("bob", "agent"), "agent-other": ("nick", "agent")}  # fmt: skip
SELF = {"manager": "mina", "lead-own": "ana", "lead-other": "ken", "qa": "quincy",
        "oidc-ana": "ana"}  # fmt: skip

OK, UNAUTH, DENIED = "ok", "401", "403"
ALL_SUPERVISORS = ("manager", "lead-own", "lead-other", "qa", "oidc-ana")


def only(*allowed: str) -> dict[str, str]:
    """Allowed principals pass; every other credential is 403, no credential 401."""
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
    # A call's words: people, never the shared service token.
    Case("GET", "/api/conferences/{sid}/transcript", "/api/conferences/{sid}/transcript",
         SUPERVISORS),
    Case("GET", "/events/transcript", "/events/transcript?sid={sid}", SUPERVISORS, stream=True),
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


def test_the_table_covers_every_endpoint() -> None:
    declared = {(m, r.path) for r in routes() for m in (r.methods or ()) if m != "HEAD"}
    covered = {(c.method, c.route) for c in CASES}
    assert declared == covered


def test_every_endpoint_answers_each_credential_as_the_table_says(
    floor: Wired, issuer: Issuer
) -> None:
    call = floor.new_call("bob")
    wrong: list[str] = []
    for principal in PRINCIPALS:
        me = SELF.get(principal, "mina")
        values = {"sid": call["conference_sid"], "call": call["agent_call_sid"], "self": me,
                  "other": "ken" if me != "ken" else "ana"}  # fmt: skip
        token = credential(floor, issuer, principal)
        with floor.service.client(token) as http:
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
        ticket = http.post("/api/events/ticket").json()["ticket"]
    with floor.service.client() as http:
        with http.stream("GET", f"/events/board?ticket={ticket}") as first:
            assert first.status_code == 200
        with http.stream("GET", f"/events/board?ticket={ticket}") as replayed:
            assert replayed.status_code == 401
    # Revoked: the next request with the key is refused.
    from access import api_keys
    from earpiece.redis_client import sync_client
    from tests.conftest import RedisTarget

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
