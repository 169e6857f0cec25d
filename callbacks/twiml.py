"""TwiML that puts a call into its conference, wired for Earpiece (README: "Wiring a
Twilio account").

Every call is a conference (FIELD-NOTES 1). The customer's leg waits for the
agent and ends the conference when it hangs up (FIELD-NOTES 2); the agent's
leg starts it and may leave (hold, transfer) without ending it. Both carry
the participant label Earpiece reads roles from, and the conference's status
callbacks come to Earpiece for every event, with Twilio's connection
overrides so that a failed callback is retried.

    POST /twilio/twiml/customer?task=NAME
    POST /twilio/twiml/agent?task=NAME&agent=ID

The conference is named `task`, or the request's TaskSid (TaskRouter), or for
the customer the CallSid (an inbound call of its own). Both are signed
webhooks: Twilio fetches them, so a forged request gets 403.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from twilio.twiml.voice_response import VoiceResponse

from callbacks.errors import ApiError
from callbacks.webhooks import Answer, SignedRequest, SignedWebhook
from core.twilio_client import CONNECTION_OVERRIDES

# Every conference event (Twilio's short names for statusCallbackEvent).
EVENTS = "start end join leave mute hold modify speaker announcement"
MAX_NAME = 128


def _query(request: SignedRequest) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.query, keep_blank_values=True).items() if v}


def _name(request: SignedRequest, query: dict[str, str], fallback: str | None) -> str:
    name = query.get("task") or request.params.get("TaskSid") or fallback
    if not name:
        raise ApiError(400, "no-conference-name", "give ?task=NAME (or a TaskSid parameter)")
    if len(name) > MAX_NAME:
        raise ApiError(400, "bad-conference-name", f"task is longer than {MAX_NAME} characters")
    return name


def conference_twiml(request: SignedRequest, name: str, label: str, *, customer: bool) -> Answer:
    settings = request.context.settings
    response = VoiceResponse()
    dial = response.dial()
    dial.conference(
        name,
        participant_label=label,
        start_conference_on_enter=not customer,
        end_conference_on_exit=customer,
        beep=False,
        status_callback=settings.base_url + "/twilio/conference-events" + CONNECTION_OVERRIDES,
        status_callback_event=EVENTS,
        status_callback_method="POST",
        region=settings.conference_region,
    )
    return Answer(str(response).encode(), "text/xml")


async def customer(request: SignedRequest) -> Answer:
    query = _query(request)
    name = _name(request, query, request.params.get("CallSid"))
    return conference_twiml(request, name, "customer", customer=True)


async def agent(request: SignedRequest) -> Answer:
    query = _query(request)
    ident = query.get("agent") or request.params.get("WorkerName") or ""
    if not ident or any(c in ident for c in ": \t"):
        raise ApiError(400, "no-agent", "give ?agent=ID (the agent's roster id)")
    return conference_twiml(request, _name(request, query, None), f"agent:{ident}", customer=False)


customer_twiml = SignedWebhook(customer)
agent_twiml = SignedWebhook(agent)
