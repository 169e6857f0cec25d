"""The simulator's Starlette app: REST, control, callback delivery and traffic."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Mapping

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from earpiece.tasks import cancel_all
from twilio_sim import control, rest
from twilio_sim.config import SimConfig
from twilio_sim.delivery import Deliverer
from twilio_sim.engine import Engine
from twilio_sim.taskrouter import control as taskrouter_control
from twilio_sim.taskrouter import rest as taskrouter_rest
from twilio_sim.taskrouter.workspace import Workspace, WorkspaceConfig
from twilio_sim.traffic import Traffic, TrafficConfig

_TWILIO_HTTP_CODES = {404: 20404, 405: 20004}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _TWILIO_HTTP_CODES.get(exc.status_code, 20001)
    body = {"code": code, "message": str(exc.detail), "status": exc.status_code,
            "more_info": f"https://www.twilio.com/docs/errors/{code}"}  # fmt: skip
    return Response(orjson.dumps(body), exc.status_code, media_type="application/json")


def create_app(
    config: SimConfig,
    traffic: TrafficConfig | None = None,
    agents: list[str] | None = None,
    workspace: WorkspaceConfig | None = None,
    workers: Mapping[str, tuple[str, ...]] | None = None,
) -> Starlette:
    """The simulator; with `workspace`, a TaskRouter Workspace too, whose `workers`
    (agent -> TaskQueue names) start Available."""
    rng = random.Random(config.seed)
    deliverer = Deliverer(config, rng)
    engine = Engine(config, deliverer, rng)
    floor = Workspace(engine, deliverer, workspace, rng) if workspace is not None else None
    for agent, queues in (workers or {}).items():
        if floor is not None:
            floor.add_worker(agent, queues)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await deliverer.start()
        floor = Traffic(engine, agents or [], traffic, rng) if traffic is not None else None
        runner = asyncio.create_task(floor.run()) if floor is not None else None
        app.state.traffic = floor
        try:
            yield
        finally:
            if runner is not None:
                await cancel_all([runner])
            if floor is not None:
                await floor.stop()
            if floor is not None:
                await floor.stop()
            await engine.stop()
            await deliverer.stop()

    app = Starlette(
        routes=[
            *rest.routes(),
            *control.routes(),
            *taskrouter_rest.routes(),
            *taskrouter_control.routes(),
        ],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.workspace = floor
    return app
