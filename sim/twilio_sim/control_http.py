"""The control endpoints' JSON in and out, and SimError as its JSON answer.

Shared by the call control (twilio_sim/control.py) and TaskRouter's (twilio_sim/taskrouter/
control.py), which imported them from each other: a module of its own breaks the circle.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from twilio_sim.engine import SimError


def _json(content: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(content), status, media_type="application/json")


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        raise SimError(400, 20001, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise SimError(400, 20001, "the body must be a JSON object")
    return body


def _guard(handler: Any) -> Any:
    async def run(request: Request) -> Response:
        try:
            result: Response = await handler(request, request.app.state.engine)
            return result
        except SimError as exc:
            return _json(exc.json(), exc.status)

    return run
