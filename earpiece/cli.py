"""The `earpiece` command: one console script, one subcommand per process kind."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.settings import SettingError, Settings

if TYPE_CHECKING:
    from live.roster import Roster

# Long-lived connections (an open EventSource) must not keep a stopping
# process alive: uvicorn closes what is still open after this many seconds.
GRACEFUL_SHUTDOWN_SECONDS = 5
# With `--workers N`, uvicorn's supervisor pings each worker every half second and SIGKILLs
# one that has not answered within this many seconds (its default is 5), dropping the
# callbacks that worker was applying. A worker starved of the CPU for a few seconds (a
# loaded machine, a neighbour's burst, a long collection) is not hung: killing it loses
# work and restarting it costs more CPU. A hung worker is still replaced, half a minute on.
# Reports of the false kills and the setting's origin: Kludex/uvicorn#2506, #2711 (0.37).
WORKER_HEALTHCHECK_SECONDS = 30
# What `earpiece dashboard` serves: the app, plus the routes that set its session cookie.
DASHBOARD_SERVER = Path(__file__).parent / "dashboard_server.py"


class SimulatorMissing(Exception):
    """`earpiece sim` or `earpiece demo` without the Twilio simulator installed."""


def require_simulator(command: str) -> None:
    """The simulator is a development tool beside the product (sim/, its own distribution,
    not in Earpiece's wheel): say in one line how to install it, before anything starts."""
    if importlib.util.find_spec("twilio_sim") is None:
        raise SimulatorMissing(
            f"`earpiece {command}` needs the Twilio simulator, which is not installed: "
            "run `pip install -e ./sim` in Earpiece's source folder, with this environment's pip"
        )


def _callbacks(args: argparse.Namespace) -> None:
    import uvicorn

    from core.settings import load
    from earpiece.service import create_app

    settings = load()
    if args.workers > 1:
        # Each worker is its own process with its own Redis client; check the
        # settings here first so a missing one is reported once, in one line.
        from earpiece.service import REQUIRED

        settings.require(*REQUIRED)
        uvicorn.run(
            "earpiece.service:factory",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            access_log=args.access_log,
            log_level="info",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
            forwarded_allow_ips=settings.forwarded_allow_ips,
        )
        return
    app = create_app(settings)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        access_log=args.access_log,
        log_level="info",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        # Whose X-Forwarded-For to believe: EARPIECE_TRUSTED_PROXIES only (uvicorn's own
        # default believes any process on 127.0.0.1).
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


def agents_for(count: int, roster_agents: list[str]) -> list[str]:
    """The first `count` roster agents, then generated ones if the roster has fewer."""
    extra = [f"agent{n}" for n in range(1, max(0, count - len(roster_agents)) + 1)]
    return [*roster_agents, *extra][:count]


def taskrouter_floor(
    roster: Roster, count: int, *, traffic: bool
) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    """`earpiece sim --taskrouter`: the agents of the labelled conferences, and the Workers
    (agent -> the TaskQueues they serve: their team's).

    With traffic, every other agent of the first `count` is a Worker and the rest take the
    labelled conferences, so nobody is on two calls at once. Without (--no-traffic) nobody
    takes labelled conferences, so every roster agent is a Worker (and generated ones up to
    `count`): a floor to drive by hand through /sim/calls."""
    team_queue: dict[str, tuple[str, ...]] = {
        a: (t.queue,) for t in roster.teams.values() for a in t.agents
    }
    if not traffic:
        everyone = agents_for(max(count, len(roster.agents)), roster.agents)
        return [], {a: team_queue.get(a, ("general",)) for a in everyone}
    everyone = agents_for(count, roster.agents)
    workers = {a: team_queue.get(a, ("general",)) for a in everyone[1::2]}
    return everyone[0::2], workers


def _share(raw: str) -> float:
    value = float(raw)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{raw} is not a share between 0 and 1")
    return value


def _sim(args: argparse.Namespace) -> None:
    require_simulator("sim")
    import uvicorn

    from core.settings import load
    from live import roster as roster_module
    from twilio_sim.app import create_app
    from twilio_sim.config import Reliability, SimConfig
    from twilio_sim.taskrouter.traffic import TaskRouterTraffic
    from twilio_sim.taskrouter.workspace import WorkspaceConfig
    from twilio_sim.traffic import TrafficConfig

    settings = load()
    settings.require("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
    assert settings.twilio_account_sid and settings.twilio_auth_token
    config = SimConfig(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        callback_url=args.callback_url,
        region=settings.twilio_region or "us1",
        reliability=Reliability(args.drop, args.duplicate, args.reorder, args.late),
        participant_creates_per_second=args.participant_rate,
        rest_429_share=args.rest_429_share,
        seed=args.seed,
        shared_key=_shared_key(args.shared_key) if args.shared_key else None,
    )
    traffic = None
    agents: list[str] = []
    roster = roster_module.load(settings.roster_path)
    if not args.no_traffic:
        agents = agents_for(args.agents, roster.agents)
        traffic = TrafficConfig(
            calls_per_minute=args.calls_per_minute,
            speech=not args.no_speech,
            prefill=args.prefill,
            time_scale=args.speed,
        )
    workspace = workers = queue_traffic = None
    if args.taskrouter:
        # A TaskRouter Workspace: every agent a Worker in their team's queue; generated
        # callers wait in the queues and TaskRouter routes them (twilio_sim/taskrouter).
        events_url = args.taskrouter_events_url or (
            args.callback_url.rsplit("/twilio/", 1)[0] + "/twilio/taskrouter-events"
        )
        workspace = WorkspaceConfig(events_url, sid=args.workspace_sid)
        agents, workers = taskrouter_floor(roster, args.agents, traffic=not args.no_traffic)
        if not args.no_traffic:
            # Half the arrivals through TaskRouter, half straight into labelled conferences
            # (those have speech and holds), so one floor shows both kinds.
            queue_traffic = TaskRouterTraffic(
                calls_per_minute=args.calls_per_minute / 2, time_scale=args.speed
            )
            if traffic is not None:
                traffic.calls_per_minute /= 2
    app = create_app(config, traffic, agents, workspace, workers, queue_traffic)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def _shared_key(raw: str) -> tuple[str, str]:
    key_id, sep, secret = raw.partition("=")
    if not sep or not key_id or not secret:
        raise SettingError("--shared-key must be KEY_ID=SECRET")
    return key_id, secret


def _demo(args: argparse.Namespace) -> int:
    from core.settings import load
    from earpiece import demo

    require_simulator("demo")
    return demo.run(
        load(),
        agents=args.agents,
        calls_per_minute=args.calls_per_minute,
        open_browser=not args.no_browser,
    )


def streamlit_command(host: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(DASHBOARD_SERVER),
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        "--server.fileWatcherType", "none", "--server.runOnSave", "false",
        "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal",
        "--global.developmentMode", "false",
        # A supervisor never sees a traceback: what went wrong goes to the process's log.
        "--client.showErrorDetails", "none",
        # A full collection after every script run walked the whole heap and was half of
        # the process's CPU with a few watchers (MEASUREMENTS.md); CPython's own GC stays on.
        "--runner.postScriptGC", "false",
        # Streamlit fades captions and placeholders to 60% of the text colour: from its
        # default #31333F that is 3.9:1 on white, under WCAG's 4.5:1 (axe-core, issue 28).
        # From this darker ink the faded text is 5:1, the body text 18:1.
        "--theme.base", "light", "--theme.textColor", "#0e1117",
    ]  # fmt: skip


def _dashboard(args: argparse.Namespace) -> None:
    from core.settings import load
    from dashboard import NOT_ITS_OWN, REQUIRED
    from live import roster as roster_module

    # Checked here, so a missing setting is one line and exit 2, not a page error.
    settings = load()
    settings.require(*REQUIRED)
    roster_module.for_settings(settings)
    command = streamlit_command(args.host, args.port)
    from dashboard.sso import secrets_file

    secrets = secrets_file(settings)  # single sign-on: Streamlit's [auth], readable by us only
    if secrets is not None:
        command += ["--secrets.files", str(secrets)]
    os.environ.update(dashboard_environment(settings))
    for name in NOT_ITS_OWN:  # the service's secrets: this process acts through its API
        os.environ.pop(name, None)
    sys.stdout.flush()
    os.execv(command[0], command)


def dashboard_environment(settings: Settings) -> dict[str, str]:
    """What Streamlit's server (uvicorn) reads from its environment: whose X-Forwarded-For to
    believe (EARPIECE_TRUSTED_PROXIES; nobody's when unset, where uvicorn's default would
    believe any local process), so `st.context.ip_address` is an address nobody forged."""
    return {"FORWARDED_ALLOW_IPS": settings.forwarded_allow_ips}


def _hash_password(args: argparse.Namespace) -> int:
    import getpass

    from core.passwords import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("earpiece: the two passwords differ", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < args.min_length:
        print(f"earpiece: a password needs at least {args.min_length} characters", file=sys.stderr)
        return 1
    print(hash_password(password))
    return 0


def _settings_table(args: argparse.Namespace) -> int:
    """README's settings table is this output (tests/core/test_settings_documented.py)."""
    from core.settings import markdown_table

    print(markdown_table(), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="earpiece", description="Earpiece: a live supervisor board for Twilio contact centers."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo", help="the whole product on embedded defaults, with a simulated floor"
    )
    # A well-run floor with its usual trouble (issue 28): 24 agents (every demo team has
    # Workers and labelled-call agents) at about 75-85% occupancy. At 12 agents and 12
    # calls a minute (~36 Erlangs on 12) the queues ran at 5% service level, all red.
    demo.add_argument("--agents", type=int, default=24)
    demo.add_argument("--calls-per-minute", type=float, default=6.0)
    demo.add_argument(
        "--no-browser", action="store_true", help="do not open the dashboard in a browser"
    )
    demo.set_defaults(run=_demo)

    cb = sub.add_parser("callbacks", help="the callback service: Twilio webhooks, JSON API, SSE")
    cb.add_argument("--host", default="127.0.0.1")
    cb.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    cb.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    cb.add_argument("--access-log", action="store_true", help="log every request")
    cb.set_defaults(run=_callbacks)

    dash = sub.add_parser("dashboard", help="the supervisors' dashboard (Streamlit)")
    dash.add_argument("--host", default="127.0.0.1")
    dash.add_argument("--port", type=int, default=8501)
    dash.set_defaults(run=_dashboard)

    st = sub.add_parser("settings", help="every setting, its default and meaning (README's table)")
    st.set_defaults(run=_settings_table)

    hp = sub.add_parser("hash-password", help="print a roster password_hash (reads the password)")
    hp.add_argument("--min-length", type=int, default=8)
    hp.set_defaults(run=_hash_password)

    from access.commands import add_parsers

    add_parsers(sub)  # api-key create|list|revoke, signin-link
    from archive.commands import add_parsers as archive_parsers

    archive_parsers(sub)  # archive reindex

    sim = sub.add_parser("sim", help="the Twilio simulator: Twilio's REST API and signed callbacks")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8700)
    sim.add_argument("--callback-url", required=True, help="where conference callbacks are posted")
    sim.add_argument("--agents", type=int, default=12, help="agents on the floor (default 12)")
    sim.add_argument("--calls-per-minute", type=float, default=12.0)
    sim.add_argument("--no-traffic", action="store_true", help="no generated calls")
    sim.add_argument("--no-speech", action="store_true", help="no speech start/stop events")
    sim.add_argument("--prefill", type=int, default=0, help="calls already talking at start")
    sim.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    sim.add_argument("--seed", type=int, default=None)
    sim.add_argument("--drop", type=_share, default=0.0, help="share of callbacks lost")
    sim.add_argument("--duplicate", type=_share, default=0.0, help="share delivered twice")
    sim.add_argument("--reorder", type=_share, default=0.0, help="share delivered out of order")
    sim.add_argument("--late", type=_share, default=0.0, help="share delivered 2 s late")
    sim.add_argument(
        "--participant-rate",
        type=float,
        default=None,
        help="participant creates per second before queueing (Twilio: 1)",
    )
    sim.add_argument(
        "--rest-429-share", type=_share, default=0.0, help="share of REST answered 429"
    )
    sim.add_argument(
        "--shared-key",
        default=None,
        metavar="KEY_ID=SECRET",
        help="sign callbacks with this SharedKey and HMAC-SHA256, as a Webhook Rule "
        "makes Twilio do (Earpiece: TWILIO_WEBHOOK_SHARED_KEYS)",
    )
    sim.add_argument(
        "--taskrouter",
        action="store_true",
        help="a TaskRouter Workspace too: callers wait in queues for workers",
    )
    sim.add_argument(
        "--workspace-sid",
        default=None,
        help="the simulated Workspace's SID (WS + 32 hex; default: a new one)",
    )
    sim.add_argument(
        "--taskrouter-events-url",
        default=None,
        help="the Workspace's Event Callback URL (default: beside --callback-url, "
        "/twilio/taskrouter-events)",
    )
    sim.set_defaults(run=_sim)
    return parser


def _stop_cleanly(signum: int, frame: object) -> None:
    # uvicorn shuts down gracefully on SIGTERM and then re-raises it; a stop
    # that was asked for is a normal exit, not a death by signal.
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _stop_cleanly)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Each request an HTTP client makes is not news to an operator (the twilio
    # SDK logs every request with its headers at INFO).
    for noisy in ("httpx", "twilio.http_client"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    try:
        code = args.run(args)
    except (SettingError, SimulatorMissing) as exc:
        print(f"earpiece: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
