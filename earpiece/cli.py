"""The `earpiece` command: one console script, one subcommand per process kind."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence

from earpiece.settings import SettingError


def _callbacks(args: argparse.Namespace) -> None:
    import uvicorn

    from callbacks.app import create_app
    from earpiece.settings import load

    settings = load()
    if args.workers > 1:
        # Each worker is its own process with its own Redis client; check the
        # settings here first so a missing one is reported once, in one line.
        settings.require("TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL", "EARPIECE_API_TOKEN")
        uvicorn.run(
            "callbacks.app:factory",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            access_log=args.access_log,
            log_level="info",
        )
        return
    app = create_app(settings)
    uvicorn.run(app, host=args.host, port=args.port, access_log=args.access_log, log_level="info")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="earpiece", description="Earpiece: a live supervisor board for Twilio contact centers."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    cb = sub.add_parser("callbacks", help="the callback service: Twilio webhooks, JSON API, SSE")
    cb.add_argument("--host", default="127.0.0.1")
    cb.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    cb.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    cb.add_argument("--access-log", action="store_true", help="log every request")
    cb.set_defaults(run=_callbacks)
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
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except SettingError as exc:
        print(f"earpiece: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
