"""The TwiML that puts a call into its conference (callbacks/twiml.py), in process: the
customer waits for the agent and ends the call on hanging up, the agent starts it and may
leave; both labelled, both sending every event to Earpiece with retries, in the floor's
region; a request Twilio did not sign gets 403, one without what it needs 400 saying what."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from core.redis_client import RedisTarget
from core.settings import Settings
from core.twilio_client import CONNECTION_OVERRIDES
from earpiece.service import create_app
from tests.conftest import make_settings
from tests.helpers import sign

BASE = "https://earpiece.example.com"
VOICE = {"AccountSid": "AC" + "0" * 32, "CallSid": "CA" + "1" * 32, "CallStatus": "ringing",
         "From": "+81312345678", "To": "+81120123456"}  # fmt: skip


@pytest.fixture
def tokyo(redis_target: RedisTarget, namespace: str) -> Settings:
    return make_settings(redis_target.url, namespace, BASE, TWILIO_REGION="jp1")


def post(client: TestClient, settings: Settings, path: str, params: dict[str, str]) -> object:
    signature = sign(settings.auth_token or "", BASE + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def conference_of(body: str) -> ET.Element:
    root = ET.fromstring(body)
    assert root.tag == "Response"
    found = root.find("./Dial/Conference")
    assert found is not None, body
    return found


def test_the_customer_waits_and_the_agent_starts_the_call(
    tokyo: Settings, redis_target: RedisTarget
) -> None:
    task = "WT" + "2" * 32
    with TestClient(create_app(tokyo, redis_target), base_url=BASE) as client:
        customer = post(client, tokyo, f"/twilio/twiml/customer?task={task}", VOICE)
        agent = post(client, tokyo, f"/twilio/twiml/agent?task={task}&agent=haruka", VOICE)
    for answer in (customer, agent):
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/xml")  # type: ignore[attr-defined]
    c, a = conference_of(customer.text), conference_of(agent.text)  # type: ignore[attr-defined]
    assert c.text == a.text == task  # one conference, named by the task
    assert (c.get("participantLabel"), a.get("participantLabel")) == ("customer", "agent:haruka")
    assert (c.get("startConferenceOnEnter"), c.get("endConferenceOnExit")) == ("false", "true")
    assert (a.get("startConferenceOnEnter"), a.get("endConferenceOnExit")) == ("true", "false")
    for conf in (c, a):
        assert conf.get("region") == "jp1"  # TWILIO_REGION, when no conference region is set
        assert (
            conf.get("statusCallback") == BASE + "/twilio/conference-events" + CONNECTION_OVERRIDES
        )
        assert "speaker" in (conf.get("statusCallbackEvent") or "").split()  # dead air needs it
        assert conf.get("beep") == "false"


def test_an_inbound_call_of_its_own_is_named_by_its_call(
    tokyo: Settings, redis_target: RedisTarget
) -> None:
    with TestClient(create_app(tokyo, redis_target), base_url=BASE) as client:
        answer = post(client, tokyo, "/twilio/twiml/customer", VOICE)
        named = post(client, tokyo, "/twilio/twiml/customer?task=" + quote("受付-1"), VOICE)
    assert conference_of(answer.text).text == VOICE["CallSid"]  # type: ignore[attr-defined]
    assert conference_of(named.text).text == "受付-1"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("path", "code"),
    [("/twilio/twiml/agent?task=T1", "no-agent"),
     ("/twilio/twiml/agent?task=T1&agent=" + quote("bob:admin"), "no-agent"),
     ("/twilio/twiml/agent?agent=bob", "no-conference-name"),
     ("/twilio/twiml/customer?task=" + "x" * 129, "bad-conference-name")],
)  # fmt: skip
def test_what_the_twiml_needs_missing_is_400_with_the_reason(
    tokyo: Settings, redis_target: RedisTarget, path: str, code: str
) -> None:
    with TestClient(create_app(tokyo, redis_target), base_url=BASE) as client:
        answer = post(client, tokyo, path, VOICE)
    assert answer.status_code == 400, answer.text  # type: ignore[attr-defined]
    assert answer.json()["error"]["code"] == code  # type: ignore[attr-defined]


def test_a_request_twilio_did_not_sign_gets_403_and_no_twiml(
    tokyo: Settings, redis_target: RedisTarget
) -> None:
    with TestClient(create_app(tokyo, redis_target), base_url=BASE) as client:
        forged = client.post("/twilio/twiml/customer?task=T1", data=VOICE,
                             headers={"X-Twilio-Signature": "AAAA"})  # fmt: skip
        # Signed for another task: the query is part of what Twilio signs.
        signature = sign(tokyo.auth_token or "", BASE + "/twilio/twiml/customer?task=T1", VOICE)
        moved = client.post("/twilio/twiml/customer?task=T2", data=VOICE,
                            headers={"X-Twilio-Signature": signature})  # fmt: skip
    assert forged.status_code == moved.status_code == 403
    assert "<Conference" not in forged.text + moved.text
