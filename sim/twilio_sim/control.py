"""Control endpoints for scripting scenarios (no auth; local use), as in CONTRACT.md.

    POST /sim/calls                        {"agent", "customer"} -> a talking call
                                           (+ "waiting": true: the customer only, waiting)
    POST /sim/conferences/{sid}/actions    {"action", "call_sid"} (+ "text" for "say")
                                           (+ "hang_up": true: the leg hangs up as it ends
                                           the text, before its final: the final follows)
    GET  /sim/state                        everything the simulator holds

and, beyond the contract, for tests and demos:

    PUT  /sim/endpoints/{to}               {"outcome": "answer|busy|no-answer|failed", "delay"}
    PUT  /sim/reliability                  {"drop", "duplicate", "reorder", "late", "late_seconds"}
    PUT  /sim/faults                       {"rest_429_next": N, "rest_429_method": "POST"}: the
                                           next N REST requests (of that method) get 429
    PUT  /sim/pace                         {"words_per_second": 0.5..100}: how fast people
                                           speak from their next utterance on
    POST /sim/scenarios/busy-duplicate     {"agent"} -> FIELD-NOTES 4's duplicate conference
    POST /sim/scenarios/duplicate          {"agent", "other"} -> a call, and a second live
                                           conference of its name holding only `other`
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twilio_sim import media_streams
from twilio_sim.config import Endpoint, Reliability
from twilio_sim.control_http import _body, _guard, _json
from twilio_sim.engine import Engine, SimError
from twilio_sim.traffic import busy_duplicate, customer_number

ACTIONS = ("hold", "unhold", "mute", "unmute", "speech-start", "speech-stop", "leave", "end", "say")
MAX_SAY_CHARS = 2000


async def scenario_duplicate(request: Request, engine: Engine) -> Response:
    body = await _body(request)
    agent, other = body.get("agent"), body.get("other")
    if not all(isinstance(a, str) and a for a in (agent, other)):
        raise SimError(400, 20001, "agent and other are required")
    task = f"WT{engine.rng.getrandbits(128):032x}"
    first, _ = engine.dial_in(
        task,
        from_=customer_number(engine.rng),
        to="+15005550006",
        label="customer",
        start_on_enter=False,
        end_on_exit=True,
    )
    engine.dial_in(
        task,
        from_="+15005550006",
        to=f"client:{agent}",
        label=f"agent:{agent}",
        start_on_enter=True,
        end_on_exit=False,
        direction="outbound-dial",
    )
    second, _ = engine.dial_in(
        task,
        from_="+15005550006",
        to=f"client:{other}",
        label=f"agent:{other}",
        start_on_enter=True,
        end_on_exit=False,
        direction="outbound-dial",
        separate=True,
    )
    return _json(
        {"friendly_name": task, "conference_sid": first.sid, "duplicate_sid": second.sid}, 201
    )


async def new_call(request: Request, engine: Engine) -> Response:
    body = await _body(request)
    if "queue" in body:  # a caller for TaskRouter to route (twilio_sim/taskrouter)
        from twilio_sim.taskrouter.control import enqueue

        return await enqueue(request, body, engine)
    agent = body.get("agent")
    if not isinstance(agent, str) or not agent:
        raise SimError(400, 20001, "agent is required")
    customer = body.get("customer") or customer_number(engine.rng)
    task = body.get("friendly_name") or f"WT{engine.rng.getrandbits(128):032x}"
    conference, customer_leg = engine.dial_in(
        task,
        from_=str(customer),
        to="+15005550006",
        label="customer",
        start_on_enter=False,
        end_on_exit=True,
    )
    agent_call_sid = None
    if not body.get("waiting"):
        _, agent_leg = engine.dial_in(
            task,
            from_="+15005550006",
            to=f"client:{agent}",
            label=f"agent:{agent}",
            start_on_enter=True,
            end_on_exit=False,
            direction="outbound-dial",
        )
        agent_call_sid = agent_leg.call_sid
    return _json(
        {
            "conference_sid": conference.sid,
            "friendly_name": conference.friendly_name,
            "customer_call_sid": customer_leg.call_sid,
            "agent_call_sid": agent_call_sid,
        },
        201,
    )


async def action(request: Request, engine: Engine) -> Response:
    body = await _body(request)
    name = body.get("action")
    if name not in ACTIONS:
        raise SimError(400, 20001, f"action must be one of {', '.join(ACTIONS)}")
    conference = engine.conference(request.path_params["sid"])
    if conference.status == "completed":
        raise SimError(400, 16099, f"conference {conference.sid} has ended")
    if name == "say":
        # The leg says the text: speech events, and what a running transcription hears.
        words = body.get("text")
        if not isinstance(words, str) or not words.strip() or len(words) > MAX_SAY_CHARS:
            raise SimError(400, 20001, f"say needs a text of 1 to {MAX_SAY_CHARS} characters")
        speaker = engine.participant(conference, str(body.get("call_sid") or ""))
        hang_up = body.get("hang_up", False)
        if not isinstance(hang_up, bool):
            raise SimError(400, 20001, "hang_up must be true or false")
        request.app.state.transcriber.say_soon(conference, speaker, words, hang_up)
        return _json({"conference": conference.json()})
    engine.act(conference, name, body.get("call_sid"))
    return _json({"conference": conference.json()})


async def state(request: Request, engine: Engine) -> Response:
    workspace = getattr(request.app.state, "workspace", None)
    extra = {"taskrouter": workspace.state()} if workspace is not None else {}
    streamer = getattr(request.app.state, "streamer", None)
    if streamer is not None:
        extra["streams"] = media_streams.state(streamer)  # Media Streams (issue 26)
    return _json({**engine.state(), **extra})


async def endpoint(request: Request, engine: Engine) -> Response:
    body = await _body(request)
    outcome = body.get("outcome", "answer")
    if outcome not in ("answer", "busy", "no-answer", "failed"):
        raise SimError(400, 20001, "outcome must be answer, busy, no-answer or failed")
    delay = float(body.get("delay", engine.config.default_endpoint.delay))
    engine.config.endpoints[request.path_params["to"]] = Endpoint(outcome, delay)
    return _json({"to": request.path_params["to"], "outcome": outcome, "delay": delay})


async def reliability(request: Request, engine: Engine) -> Response:
    body = await _body(request)
    try:
        engine.config.reliability = Reliability(**{k: float(v) for k, v in body.items()})
    except (TypeError, ValueError) as exc:
        raise SimError(400, 20001, f"bad reliability settings: {exc}") from None
    return _json(vars(engine.config.reliability))


async def faults(request: Request, engine: Engine) -> Response:
    body = await _body(request)
    try:
        next_ = int(body.get("rest_429_next", 0))
    except (TypeError, ValueError):
        raise SimError(400, 20001, "rest_429_next must be a whole number") from None
    method = str(body.get("rest_429_method", "")).upper()
    if method not in ("", "GET", "POST", "DELETE"):
        raise SimError(400, 20001, "rest_429_method must be GET, POST or DELETE")
    engine.config.rest_429_next, engine.config.rest_429_method = next_, method
    return _json({"rest_429_next": next_, "rest_429_method": method})


# A pace no person has (a word every two seconds, or a hundred a second) is a typo.
PACE_RANGE = (0.5, 100.0)


async def pace(request: Request, engine: Engine) -> Response:
    body = await _body(request)
    words = body.get("words_per_second")
    low, high = PACE_RANGE
    if isinstance(words, bool) or not isinstance(words, int | float) or not low <= words <= high:
        raise SimError(400, 20001, f"words_per_second must be a number from {low:g} to {high:g}")
    engine.config.words_per_second = float(words)
    return _json({"words_per_second": float(words)})


async def scenario_busy_duplicate(request: Request, engine: Engine) -> Response:
    body = await _body(request)
    agent = body.get("agent")
    if not isinstance(agent, str) or not agent:
        raise SimError(400, 20001, "agent is required")
    first, second = busy_duplicate(engine, agent, engine.rng)
    return _json(
        {
            "ended_conference_sid": first.sid,
            "duplicate_conference_sid": second.sid,
            "friendly_name": second.friendly_name,
        },
        201,
    )


def routes() -> list[Route]:
    return [
        Route("/sim/calls", _guard(new_call), methods=["POST"]),
        Route("/sim/conferences/{sid}/actions", _guard(action), methods=["POST"]),
        Route("/sim/state", _guard(state), methods=["GET"]),
        Route("/sim/endpoints/{to:path}", _guard(endpoint), methods=["PUT"]),
        Route("/sim/reliability", _guard(reliability), methods=["PUT"]),
        Route("/sim/faults", _guard(faults), methods=["PUT"]),
        Route("/sim/pace", _guard(pace), methods=["PUT"]),
        Route("/sim/scenarios/busy-duplicate", _guard(scenario_busy_duplicate), methods=["POST"]),
        Route("/sim/scenarios/duplicate", _guard(scenario_duplicate), methods=["POST"]),
    ]
