"""The process's Prometheus metrics (prometheus-client), served at `/metrics`.

One registry per process. With `earpiece callbacks --workers N` each worker
counts its own; scrape each instance (or run one worker per instance).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["CONTENT_TYPE", "render"]

REGISTRY = CollectorRegistry(auto_describe=True)

CALLBACKS = Counter(
    "earpiece_callbacks",
    "Twilio callbacks received, by event and outcome",
    ["event", "outcome"],
    registry=REGISTRY,
)
APPLY_SECONDS = Histogram(
    "earpiece_apply_seconds",
    "Time to apply one conference callback to Redis",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
    registry=REGISTRY,
)
SSE_CLIENTS = Gauge("earpiece_sse_clients", "Open /events connections", registry=REGISTRY)
BOARD_WATCHERS = Gauge(
    "earpiece_board_watchers",
    "Open /events/board connections (dashboards watching the floor)",
    registry=REGISTRY,
)
BOARD_VIEWS = Gauge(
    "earpiece_board_views",
    "Distinct board views (filter sets) worked out in this process",
    registry=REGISTRY,
)
BOARD_PASS_SECONDS = Gauge(
    "earpiece_board_pass_seconds",
    "How long the last board pass took (all views, once)",
    registry=REGISTRY,
)
BOARD_PASS_CPU_SECONDS = Gauge(
    "earpiece_board_pass_cpu_seconds",
    "CPU the last board pass's own work took (its Redis waits, and what else the process "
    "ran meanwhile, left out): on a busy machine, what the pass costs",
    registry=REGISTRY,
)
BOARD_FLOOR_READS = Gauge(
    "earpiece_board_floor_reads",
    "Times this process's board read the whole floor (start, a gap in the feed, a reset)",
    registry=REGISTRY,
)
RECONCILE_RUNS = Counter(
    "earpiece_reconciler_runs",
    "Reconciliation passes against Twilio, by result",
    ["result"],
    registry=REGISTRY,
)
RECONCILE_REPAIRS = Counter(
    "earpiece_reconciler_repairs",
    "Repairs the reconciler made to the floor, by kind",
    ["kind"],
    registry=REGISTRY,
)
GUARD_ENDS = Counter(
    "earpiece_guard_ended_conferences",
    "Conferences ended by Earpiece (orphaned or a lone duplicate), by reason",
    ["reason"],
    registry=REGISTRY,
)
COACH_ACTIONS = Counter(
    "earpiece_coach_actions",
    "Supervisor actions (join, switch, leave), by outcome",
    ["action", "outcome"],
    registry=REGISTRY,
)
TWILIO_ERRORS = Counter(
    "earpiece_twilio_errors",
    "Twilio REST errors, by Twilio error code",
    ["code"],
    registry=REGISTRY,
)
TWILIO_REQUESTS = Counter(
    "earpiece_twilio_requests", "Twilio REST requests sent (retries included)", registry=REGISTRY
)


def render() -> bytes:
    return generate_latest(REGISTRY)


_CALLBACK_COUNTERS: dict[tuple[str, str], Any] = {}


def callback(event: str, outcome: str) -> None:
    """Count one callback (hot path: the labelled child is looked up once, then kept)."""
    child = _CALLBACK_COUNTERS.get((event, outcome))
    if child is None:
        child = _CALLBACK_COUNTERS[(event, outcome)] = CALLBACKS.labels(event, outcome)
    child.inc()
