"""The Twilio requests coach makes, off the event loop, with 429 retries and clear errors.

The twilio SDK is synchronous; each request runs in a worker thread so that
the service keeps serving while Twilio answers. A 429 (error 20429, API
concurrency) is retried a bounded number of times with exponential backoff
and jitter; any other Twilio error becomes a CoachError whose message says
what Twilio said.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from requests.exceptions import RequestException
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from core import metrics
from core.twilio_errors import CoachError

T = TypeVar("T")

BACKOFF_SECONDS = 0.2
# Twilio errors that describe the call rather than a fault: the conference or
# participant is gone, or the coached participant is not there.
# Codes of a participant create: https://www.twilio.com/docs/api/errors/16022, /16026.
_CONFLICTS = {
    16028: "the agent to coach is not on the call",
    16099: "the call is not in progress",
    16022: "the call has ended (Twilio no longer has its conference)",
    16026: "someone with your name is already on this call; leave it first",
    20404: "Twilio no longer has this call or leg",
}


class TwilioCalls:
    def __init__(self, client: Client, retries: int = 3, rng: random.Random | None = None) -> None:
        self.client = client
        self.retries = retries
        self.rng = rng or random.Random()
        self.requests = 0  # every request sent, for /metrics and the bench

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        for attempt in range(self.retries + 1):
            self.requests += 1
            metrics.TWILIO_REQUESTS.inc()
            try:
                return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
            except TwilioRestException as exc:
                metrics.TWILIO_ERRORS.labels(str(exc.code or exc.status)).inc()
                if exc.status == 429 and attempt < self.retries:
                    delay = BACKOFF_SECONDS * 2**attempt * (0.5 + self.rng.random())
                    await asyncio.sleep(delay)
                    continue
                raise _coach_error(exc) from None
            except (TwilioException, RequestException) as exc:
                metrics.TWILIO_ERRORS.labels("unreachable").inc()
                raise CoachError(
                    502, "twilio-unreachable", f"Twilio did not answer: {exc}"
                ) from None
        raise AssertionError("unreachable")

    async def create_participant(self, conference_sid: str, **params: Any) -> Any:
        return await self._run(
            self.client.conferences(conference_sid).participants.create, **params
        )

    async def fetch_participant(self, conference_sid: str, call_sid: str) -> Any:
        return await self._run(self.client.conferences(conference_sid).participants(call_sid).fetch)

    async def update_participant(self, conference_sid: str, call_sid: str, **params: Any) -> Any:
        return await self._run(
            self.client.conferences(conference_sid).participants(call_sid).update, **params
        )

    # -- real-time transcription (issue 15) ---------------------------------------------

    async def start_transcription(self, call_sid: str, **params: Any) -> Any:
        """POST /Calls/{CallSid}/Transcriptions.json: a Transcription resource (GT...)."""
        return await self._run(self.client.calls(call_sid).transcriptions.create, **params)

    async def stop_transcription(self, call_sid: str, sid_or_name: str) -> None:
        """Status=stopped on the Transcription (its SID, or the Name it was given); one
        Twilio no longer has (the call ended) counts as stopped."""
        try:
            await self._run(
                self.client.calls(call_sid).transcriptions(sid_or_name).update, status="stopped"
            )
        except CoachError as exc:
            if exc.code not in ("twilio-20404", "twilio-21220"):
                raise

    # -- media streams (issue 26): a call's audio to the service's WebSocket -----------------

    async def start_stream(self, call_sid: str, **params: Any) -> Any:
        """POST /Calls/{CallSid}/Streams.json: a unidirectional Stream (MZ...)
        (https://www.twilio.com/docs/voice/api/stream-resource)."""
        return await self._run(self.client.calls(call_sid).streams.create, **params)

    async def stop_stream(self, call_sid: str, sid_or_name: str) -> None:
        """Status=stopped on the Stream; one Twilio no longer has (the call ended) is stopped."""
        try:
            await self._run(
                self.client.calls(call_sid).streams(sid_or_name).update, status="stopped"
            )
        except CoachError as exc:
            if exc.code not in ("twilio-20404", "twilio-21220"):
                raise

    # -- recordings (issue 16) -------------------------------------------------------------

    async def start_recording(self, call_sid: str, **params: Any) -> Any:
        """POST /Calls/{CallSid}/Recordings.json: a Recording (RE...) of the live call."""
        return await self._run(self.client.calls(call_sid).recordings.create, **params)

    async def update_recording(self, call_sid: str, recording_sid: str, **params: Any) -> Any:
        """Status=paused | in-progress | stopped on a call's recording."""
        return await self._run(
            self.client.calls(call_sid).recordings(recording_sid).update, **params
        )

    async def delete_recording(self, recording_sid: str) -> None:
        """Delete a recording (retention); one Twilio no longer has counts as deleted."""
        try:
            await self._run(self.client.recordings(recording_sid).delete)
        except CoachError as exc:
            if exc.code != "twilio-20404":
                raise

    # -- TaskRouter (issue 12): what the reconciler compares the queues with ------------

    def _workspace(self, workspace_sid: str) -> Any:
        return self.client.taskrouter.v1.workspaces(workspace_sid)

    async def list_tasks(self, workspace_sid: str, statuses: list[str]) -> list[Any]:
        return await self._run(
            self._workspace(workspace_sid).tasks.list, assignment_status=statuses, page_size=1000
        )

    async def fetch_task(self, workspace_sid: str, task_sid: str) -> Any | None:
        """The task, or None when TaskRouter no longer has it (deleted)."""
        try:
            return await self._run(self._workspace(workspace_sid).tasks(task_sid).fetch)
        except CoachError as exc:
            if exc.code == "twilio-20404":
                return None
            raise

    async def list_task_queues(self, workspace_sid: str) -> list[Any]:
        return await self._run(self._workspace(workspace_sid).task_queues.list, page_size=1000)

    async def list_workers(self, workspace_sid: str) -> list[Any]:
        return await self._run(self._workspace(workspace_sid).workers.list, page_size=1000)

    async def fetch_worker(self, workspace_sid: str, worker_sid: str) -> Any | None:
        """The worker with its attributes (a list answers them null), or None once deleted."""
        try:
            return await self._run(self._workspace(workspace_sid).workers(worker_sid).fetch)
        except CoachError as exc:
            if exc.code == "twilio-20404":
                return None
            raise

    async def list_task_reservations(self, workspace_sid: str, task_sid: str) -> list[Any]:
        """Every reservation of a task (a few: the accepted one and any rejected or timed out).
        No page size: "Pagination is not supported under this resource. Please avoid usage of
        the page query parameter" (https://www.twilio.com/docs/taskrouter/api/reservations)."""
        return await self._run(self._workspace(workspace_sid).tasks(task_sid).reservations.list)

    async def update_worker(self, workspace_sid: str, worker_sid: str, **params: Any) -> Any:
        """A Worker's activity (`activity_sid`, `reject_pending_reservations`): issue 27."""
        return await self._run(self._workspace(workspace_sid).workers(worker_sid).update, **params)

    async def update_task(self, workspace_sid: str, task_sid: str, **params: Any) -> Any:
        """A Task's `assignment_status` with a `reason` (a stuck wrap-up completed): issue 27."""
        return await self._run(self._workspace(workspace_sid).tasks(task_sid).update, **params)

    async def list_activities(self, workspace_sid: str) -> list[Any]:
        return await self._run(self._workspace(workspace_sid).activities.list)

    async def list_conferences(self, status: str) -> list[Any]:
        """Every conference in `status` (the SDK follows Twilio's pages)."""
        return await self._run(self.client.conferences.list, status=status, page_size=1000)

    async def list_participants(self, conference_sid: str) -> list[Any]:
        return await self._run(
            self.client.conferences(conference_sid).participants.list, page_size=1000
        )

    async def fetch_conference(self, conference_sid: str) -> Any | None:
        """The conference, or None when Twilio does not know it."""
        try:
            return await self._run(self.client.conferences(conference_sid).fetch)
        except CoachError as exc:
            if exc.code == "twilio-20404":
                return None
            raise

    async def end_conference(self, conference_sid: str) -> None:
        await self._run(self.client.conferences(conference_sid).update, status="completed")

    async def fetch_call(self, call_sid: str) -> Any:
        return await self._run(self.client.calls(call_sid).fetch)

    async def delete_participant(self, conference_sid: str, call_sid: str) -> bool:
        """Remove a leg; one that Twilio no longer has counts as removed."""
        try:
            return bool(
                await self._run(
                    self.client.conferences(conference_sid).participants(call_sid).delete
                )
            )
        except CoachError as exc:
            if exc.code == "twilio-20404":
                return True
            raise


# Refusals with a name of their own: the supervisor is told what to do about them.
_NAMED = {
    16027: (409, "agent-on-hold", "the agent is on hold: whisper once they are back"),
    # https://www.twilio.com/docs/api/errors/16024: the label is the roster id
    # ("supervisor:ID"), so the fix is in the roster, not in trying again.
    16024: (
        422,
        "bad-supervisor-id",
        "your roster id cannot be a Twilio participant label "
        "(at most 117 characters, no '/'): ask an admin to "
        "change it",
    ),
}


def _coach_error(exc: TwilioRestException) -> CoachError:
    code = exc.code or exc.status
    if code in _NAMED:
        status, name, why = _NAMED[code]
        return CoachError(status, name, f"Twilio refused ({code}): {exc.msg} — {why}")
    what = _CONFLICTS.get(code)
    status = 409 if what else (429 if exc.status == 429 else 502)
    message = f"Twilio refused ({code}): {exc.msg}" + (f" — {what}" if what else "")
    return CoachError(status, f"twilio-{code}", message)
