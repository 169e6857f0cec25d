"""TaskRouter's resources as the simulated Workspace holds them, and their JSON.

Field names, types and value sets follow Twilio's OpenAPI description of
TaskRouter v1 (shared/twilio-oai/twilio_taskrouter_v1.json); the tests check
every answer against its schemas.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

BASE = "https://taskrouter.twilio.com/v1"
# Attributes in lists: a Task's and a Worker's `attributes` are answered by a fetch only:
# "it will only be displayed in FETCH action that returns a single resource. Otherwise, it
# will be null" (the `attributes` descriptions of taskrouter.v1.workspace.task and .worker
# in shared/twilio-oai/twilio_taskrouter_v1.json). A list that carried them would let a
# repair built on lists pass here and fail on a real Workspace (issue 21).


def iso(epoch: float | None) -> str | None:
    """TaskRouter writes ISO 8601 times (the voice API writes RFC 2822)."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Activity:
    sid: str
    name: str
    available: bool
    created: float = field(default_factory=time.time)

    def json(self, account: str, workspace: str) -> dict[str, Any]:
        url = f"{BASE}/Workspaces/{workspace}/Activities/{self.sid}"
        return {
            "account_sid": account,
            "available": self.available,
            "date_created": iso(self.created),
            "date_updated": iso(self.created),
            "friendly_name": self.name,
            "sid": self.sid,
            "workspace_sid": workspace,
            "url": url,
            "links": {"workspace": f"{BASE}/Workspaces/{workspace}"},
        }


@dataclass
class Queue:
    sid: str
    name: str
    target_workers: str
    created: float = field(default_factory=time.time)

    def json(self, account: str, workspace: str) -> dict[str, Any]:
        url = f"{BASE}/Workspaces/{workspace}/TaskQueues/{self.sid}"
        return {
            "account_sid": account,
            "assignment_activity_sid": None,
            "assignment_activity_name": None,
            "date_created": iso(self.created),
            "date_updated": iso(self.created),
            "friendly_name": self.name,
            "max_reserved_workers": 1,
            "reservation_activity_sid": None,
            "reservation_activity_name": None,
            "sid": self.sid,
            "target_workers": self.target_workers,
            "task_order": "FIFO",
            "url": url,
            "workspace_sid": workspace,
            "links": {
                "assignment_activity": None,
                "reservation_activity": None,
                "workspace": f"{BASE}/Workspaces/{workspace}",
                "statistics": f"{url}/Statistics",
                "real_time_statistics": f"{url}/RealTimeStatistics",
                "cumulative_statistics": f"{url}/CumulativeStatistics",
                "list_statistics": f"{BASE}/Workspaces/{workspace}/TaskQueues/Statistics",
            },
        }


@dataclass
class Worker:
    sid: str
    name: str
    attributes: dict[str, Any]
    activity: Activity
    queues: tuple[str, ...]  # the TaskQueue SIDs whose target_workers take this worker
    changed: float = field(default_factory=time.time)
    created: float = field(default_factory=time.time)
    task: str | None = None  # the Task it holds (assigned or wrapping)

    def json(self, account: str, workspace: str, *, listed: bool = False) -> dict[str, Any]:
        """As a fetch answers it; `listed`: as a list does (attributes null, see above)."""
        url = f"{BASE}/Workspaces/{workspace}/Workers/{self.sid}"
        return {
            "account_sid": account,
            "activity_name": self.activity.name,
            "activity_sid": self.activity.sid,
            "attributes": None if listed else orjson.dumps(self.attributes).decode(),
            "available": self.activity.available,
            "date_created": iso(self.created),
            "date_status_changed": iso(self.changed),
            "date_updated": iso(self.changed),
            "friendly_name": self.name,
            "sid": self.sid,
            "workspace_sid": workspace,
            "url": url,
            "links": {
                "channels": f"{url}/Channels",
                "reservations": f"{url}/Reservations",
                "activity": f"{BASE}/Workspaces/{workspace}/Activities/{self.activity.sid}",
                "workspace": f"{BASE}/Workspaces/{workspace}",
            },
        }


# A Task's assignment_status values (the OpenAPI file's enum).
PENDING, RESERVED, ASSIGNED = "pending", "reserved", "assigned"
WRAPPING, COMPLETED, CANCELED = "wrapping", "completed", "canceled"
LIVE = (PENDING, RESERVED, ASSIGNED, WRAPPING)


@dataclass
class Task:
    sid: str
    attributes: dict[str, Any]
    queue: Queue
    workflow_sid: str
    created: float = field(default_factory=time.time)
    entered: float = field(default_factory=time.time)  # into its TaskQueue
    status: str = PENDING
    priority: int = 0
    reason: str | None = None
    updated: float = field(default_factory=time.time)
    worker: str | None = None  # the Worker of its accepted reservation
    reservation: str | None = None
    accepted: float | None = None  # when its reservation was accepted

    def age(self, now: float | None = None) -> int:
        return int((now or time.time()) - self.created)

    def json(
        self, account: str, workspace: str, workflow_name: str, *, listed: bool = False
    ) -> dict[str, Any]:
        """As a fetch answers it; `listed`: as a list does (attributes null, see above)."""
        url = f"{BASE}/Workspaces/{workspace}/Tasks/{self.sid}"
        return {
            "account_sid": account,
            "age": self.age(),
            "assignment_status": self.status,
            "attributes": None if listed else orjson.dumps(self.attributes).decode(),
            "addons": "{}",
            "date_created": iso(self.created),
            "date_updated": iso(self.updated),
            "task_queue_entered_date": iso(self.entered),
            "priority": self.priority,
            "reason": self.reason,
            "sid": self.sid,
            "task_queue_sid": self.queue.sid,
            "task_queue_friendly_name": self.queue.name,
            "task_channel_sid": CHANNEL_SID,
            "task_channel_unique_name": "voice",
            "timeout": 86400,
            "workflow_sid": self.workflow_sid,
            "workflow_friendly_name": workflow_name,
            "workspace_sid": workspace,
            "url": url,
            "links": {
                "task_queue": f"{BASE}/Workspaces/{workspace}/TaskQueues/{self.queue.sid}",
                "workflow": f"{BASE}/Workspaces/{workspace}/Workflows/{self.workflow_sid}",
                "workspace": f"{BASE}/Workspaces/{workspace}",
                "reservations": f"{url}/Reservations",
            },
            "virtual_start_time": iso(self.created),
            "ignore_capacity": False,
            "routing_target": None,
        }


CHANNEL_SID = "TC" + "0" * 31 + "1"


@dataclass
class Reservation:
    sid: str
    task: str
    worker: str
    status: str = "pending"
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)

    def json(self, account: str, workspace: str, worker_name: str) -> dict[str, Any]:
        url = f"{BASE}/Workspaces/{workspace}/Tasks/{self.task}/Reservations/{self.sid}"
        return {
            "account_sid": account,
            "date_created": iso(self.created),
            "date_updated": iso(self.updated),
            "reservation_status": self.status,
            "sid": self.sid,
            "task_sid": self.task,
            "worker_name": worker_name,
            "worker_sid": self.worker,
            "workspace_sid": workspace,
            "url": url,
            "links": {
                "task": f"{BASE}/Workspaces/{workspace}/Tasks/{self.task}",
                "worker": f"{BASE}/Workspaces/{workspace}/Workers/{self.worker}",
                "workspace": f"{BASE}/Workspaces/{workspace}",
            },
        }
