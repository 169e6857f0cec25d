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

from twilio_sim import control, media_streams, recordings, rest, transcriptions
from twilio_sim.config import SimConfig
from twilio_sim.delivery import Deliverer
from twilio_sim.engine import Engine
from twilio_sim.taskrouter import control as taskrouter_control
from twilio_sim.taskrouter import rest as taskrouter_rest
from twilio_sim.taskrouter.traffic import QueueFloor, TaskRouterTraffic
from twilio_sim.taskrouter.workspace import Workspace, WorkspaceConfig
from twilio_sim.tasks import cancel_all
from twilio_sim.traffic import Traffic, TrafficConfig
from twilio_sim.transcriptions import Transcriber

_TWILIO_HTTP_CODES = {404: 20404, 405: 20004}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _TWILIO_HTTP_CODES.get(exc.status_code, 20001)
    body = {
        "code": code,
        "message": str(exc.detail),
        "status": exc.status_code,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
    }
    return Response(orjson.dumps(body), exc.status_code, media_type="application/json")


def create_app(
    config: SimConfig,
    traffic: TrafficConfig | None = None,
    agents: list[str] | None = None,
    workspace: WorkspaceConfig | None = None,
    workers: Mapping[str, tuple[str, ...]] | None = None,
    queue_traffic: TaskRouterTraffic | None = None,
) -> Starlette:
    """The simulator; with `workspace`, a TaskRouter Workspace too, whose `workers`
    (agent -> TaskQueue names) start Available."""
    rng = random.Random(config.seed)
    deliverer = Deliverer(config, rng)
    engine = Engine(config, deliverer, rng)
    transcriber = Transcriber(engine, deliverer)
    recorder = recordings.Recorder(engine, deliverer, config.recording_processing_seconds)
    streamer = media_streams.Streamer(engine)
    workspace_floor = Workspace(engine, deliverer, workspace, rng) if workspace else None
    for agent, queues in (workers or {}).items():
        if workspace_floor is not None:
            workspace_floor.add_worker(agent, queues)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await deliverer.start()
        floors: list[Traffic | QueueFloor] = []
        if traffic is not None:
            floors.append(Traffic(engine, agents or [], traffic, rng, transcriber=transcriber))
        if queue_traffic is not None and workspace_floor is not None:
            # TaskRouter routes these calls; their transcribed talk is a dialogue too.
            floors.append(QueueFloor(workspace_floor, queue_traffic, rng, transcriber=transcriber))
        runners = [asyncio.create_task(f.run()) for f in floors]
        app.state.traffic = floors[0] if floors else None
        try:
            yield
        finally:
            await cancel_all(runners)
            for f in floors:
                await f.stop()
            if workspace_floor is not None:
                await workspace_floor.stop()
            await transcriber.stop_all()
            await streamer.stop_all()
            await engine.stop()
            await deliverer.stop()

    app = Starlette(
        routes=[
            *rest.routes(),
            *transcriptions.routes(),
            *recordings.routes(),
            *media_streams.routes(),
            *control.routes(),
            *taskrouter_rest.routes(),
            *taskrouter_control.routes(),
        ],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.transcriber = transcriber
    app.state.recorder = recorder
    app.state.streamer = streamer
    app.state.workspace = workspace_floor
    return app
