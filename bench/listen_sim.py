"""The Twilio simulator for bench/listen.py, in a process of its own, with each media frame
stamped: its first 8 bytes are the wall-clock time it was made (float64), so a listener
can tell how long the frame took to reach it (sim -> service -> Redis -> browser socket).

    python -m bench.listen_sim --port P --callback http://…/twilio/conference-events
"""

from __future__ import annotations

import argparse
import struct
import time

import uvicorn

from bench.common import AUTH_TOKEN
from twilio_sim.app import create_app
from twilio_sim.config import Endpoint, SimConfig
from twilio_sim.media_streams import Stream, Streamer

_plain = Streamer.payload


def stamped(self: Streamer, stream: Stream, track: str, n: int) -> bytes:
    return struct.pack("<d", time.time()) + _plain(self, stream, track, n)[8:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--callback", required=True)
    args = parser.parse_args()
    Streamer.payload = stamped  # type: ignore[method-assign]
    config = SimConfig(account_sid="AC" + "0" * 32, auth_token=AUTH_TOKEN,
                       callback_url=args.callback, default_endpoint=Endpoint("answer", 0.05),
                       seed=7)  # fmt: skip
    uvicorn.run(create_app(config), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
