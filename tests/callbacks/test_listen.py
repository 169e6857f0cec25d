"""Listening in the browser, without a browser (issue 26): the simulator's Media Stream as
Twilio sends it, the service's two WebSockets, the ticket, the rules and the audit.

A test client opens `/listen/audio` as the browser's component does (the websockets
library) and reads the frames; the customer's and the agent's test tones are told apart
by their frequency (twilio_sim/media_streams.py: 440 Hz and 1000 Hz).
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import numpy as np
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from core.redis_client import RedisTarget
from tests.conftest import AUTH_TOKEN, Wired
from tests.twilio_schema import problems, response_schema
from twilio_sim.media_streams import AGENT_HZ, CUSTOMER_HZ, SOUNDS, mulaw

CREATE = "/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}/Streams.json"


def decode(frame: bytes) -> np.ndarray[Any, Any]:
    """G.711 μ-law to linear samples in [-1, 1] (the standard table, as the page decodes)."""
    u = ~np.frombuffer(frame, dtype=np.uint8)
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = ((mantissa.astype(np.int32) << 3) + 0x84) << exponent
    linear = np.where(sign != 0, 0x84 - magnitude, magnitude - 0x84)
    return linear / 32124.0


def peak_hz(samples: np.ndarray[Any, Any]) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * 8000 / len(samples))


def ws_url(wired: Wired, path: str) -> str:
    return wired.service.url.replace("http://", "ws://") + path


def ticket(wired: Wired, sid: str, who: str) -> httpx.Response:
    with wired.api(who) as http:
        return http.post(f"/api/conferences/{sid}/listen")


def open_audio(wired: Wired, sid: str, who: str) -> ClientConnection:
    answer = ticket(wired, sid, who)
    assert answer.status_code == 201, answer.text
    return connect(ws_url(wired, answer.json()["url"]), open_timeout=5)


def frames(socket: ClientConnection, count: int) -> dict[int, bytes]:
    """`count` 20 ms frames of each track, joined: {1: customer, 2: agent} (a message holds
    one or more frames: kind, two bytes of length, the μ-law)."""
    got: dict[int, list[bytes]] = {1: [], 2: []}
    deadline = time.monotonic() + 10
    while min(len(v) for v in got.values()) < count:
        assert time.monotonic() < deadline, "no audio"
        message = socket.recv(timeout=5)
        at = 0
        while isinstance(message, bytes) and at < len(message):
            length = int.from_bytes(message[at + 1 : at + 3], "big")
            assert length == 160
            got[message[at]].append(message[at + 3 : at + 3 + length])
            at += 3 + length
    return {k: b"".join(v[:count]) for k, v in got.items()}


def test_mulaw_of_the_simulator_decodes_to_its_tones() -> None:
    assert peak_hz(decode(SOUNDS["inbound"].quiet[:1600])) == pytest.approx(CUSTOMER_HZ, abs=10)
    assert peak_hz(decode(SOUNDS["outbound"].quiet[:1600])) == pytest.approx(AGENT_HZ, abs=10)
    # The extremes land where G.711 puts them: +max 0x80, -max 0x00, silence 0xFF.
    assert mulaw(np.array([1.0, -1.0, 0.0])) == bytes([0x80, 0x00, 0xFF])


def test_the_simulator_streams_as_twilio_does(wired: Wired) -> None:
    """Streams.json answers as Twilio's file says, and the WebSocket carries connected,
    start (with the custom parameter), media of both tracks every 20 ms, then stop."""
    call = wired.new_call("bob")
    wired.wait(lambda: (wired.conference(call["conference_sid"]) or {}).get("state") == "talking")
    with wired.api("ana") as http:
        assert http.post(f"/api/conferences/{call['conference_sid']}/listen").status_code == 201
    # Straight through the SDK: a stream to a server of this test's own.
    from websockets.sync.server import serve

    got: list[dict[str, Any]] = []
    headers: dict[str, str] = {}

    def handler(connection: Any) -> None:
        headers.update(dict(connection.request.headers))
        for message in connection:
            got.append(json.loads(message))
            if len(got) >= 12:
                break

    with serve(handler, "127.0.0.1", 0) as server:
        import threading

        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.socket.getsockname()[1]
        client = wired.sim.client()
        made = client.calls(call["customer_call_sid"]).streams.create(
            url=f"ws://127.0.0.1:{port}/audio", track="both_tracks", name="t",
            parameter1_name="conference", parameter1_value=call["conference_sid"],
        )  # fmt: skip
        assert made.sid.startswith("MZ") and made.status == "in-progress"
        Wired.wait(lambda: len(got) >= 12)
        client.calls(call["customer_call_sid"]).streams("t").update(status="stopped")
        server.shutdown()
    assert [m["event"] for m in got[:3]] == ["connected", "start", "media"]
    assert got[0] == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    start = got[1]["start"]
    assert start["tracks"] == ["inbound", "outbound"]
    assert start["customParameters"] == {"conference": call["conference_sid"]}
    assert start["mediaFormat"] == {"encoding": "audio/x-mulaw", "sampleRate": 8000,
                                    "channels": 1}  # fmt: skip
    media = [m["media"] for m in got[2:]]
    assert {m["track"] for m in media} == {"inbound", "outbound"}
    assert all(len(base64.b64decode(m["payload"])) == 160 for m in media)
    inbound = [int(m["timestamp"]) for m in media if m["track"] == "inbound"]
    assert inbound[1] - inbound[0] == 20
    assert [int(m["sequenceNumber"]) for m in got[1:]] == list(range(1, len(got)))
    assert "x-twilio-signature" in {k.lower() for k in headers}


def test_streams_create_answers_as_twilios_file(wired: Wired) -> None:
    call = wired.new_call("bob")
    wired.wait(lambda: (wired.conference(call["conference_sid"]) or {}).get("state") == "talking")
    from tests.sim.test_sim_rest import raw

    created = raw(wired.sim, "POST", f"/Calls/{call['customer_call_sid']}/Streams.json",
                  data={"Url": "wss://127.0.0.1:9/nowhere", "Track": "both_tracks"})  # fmt: skip
    assert created.status_code == 200
    assert problems(created.json(), response_schema(CREATE, "post", "200")) == []
    refused = raw(wired.sim, "POST", f"/Calls/{call['customer_call_sid']}/Streams.json",
                  data={"Url": "https://example.com/x"})  # fmt: skip
    assert refused.status_code == 400


def test_a_supervisor_hears_the_customer_and_the_agent_apart(wiring: Any) -> None:
    wired: Wired = wiring(EARPIECE_LISTEN_GRACE_SECONDS="1")
    call = wired.new_call("bob")
    sid = call["conference_sid"]
    wired.wait(lambda: (wired.conference(sid) or {}).get("state") == "talking")
    with open_audio(wired, sid, "ana") as socket:
        hello = json.loads(socket.recv(timeout=5))
        assert hello["type"] == "hello" and hello["sid"] == sid
        assert "ana" in hello["listeners"]
        tracks = frames(socket, 25)  # half a second
        assert peak_hz(decode(tracks[1])) == pytest.approx(CUSTOMER_HZ, abs=20)
        assert peak_hz(decode(tracks[2])) == pytest.approx(AGENT_HZ, abs=20)
        streams = wired.sim.thread.app.state.streamer.running(call["customer_call_sid"])
        assert len(streams) == 1 and streams[0].track == "both_tracks"
        # A second listener shares the one stream.
        with open_audio(wired, sid, "mina") as second:
            frames(second, 5)
            assert len(wired.sim.thread.app.state.streamer.running()) == 1
    # The last listener left: the stream stops at Twilio after the grace period.
    streamer = wired.sim.thread.app.state.streamer
    Wired.wait(lambda: not streamer.running(), seconds=8)
    with wired.api("mina") as http:
        audit = http.get("/api/audit", params={"conference_sid": sid}).json()
    entries = audit["entries"]
    mine = [(e["action"], e["supervisor"], e["detail"]) for e in entries]
    assert ("listen", "ana", "how=browser") in mine
    assert ("listen-end", "ana", "how=browser") in mine


def test_a_lead_of_another_team_is_refused(wired: Wired) -> None:
    call = wired.new_call("bob")  # sales-east; ken leads support and billing
    sid = call["conference_sid"]
    refused = ticket(wired, sid, "ken")
    assert refused.status_code == 403
    assert "leads" in refused.json()["error"]["message"]
    assert "sales-east" in refused.json()["error"]["message"]
    # A ticket for another call, a used ticket, a board ticket: refused on the socket.
    other = wired.new_call("carol")
    answer = ticket(wired, other["conference_sid"], "mina")
    url = ws_url(wired, answer.json()["url"].replace(other["conference_sid"], sid))
    with connect(url, open_timeout=5) as socket:
        message = json.loads(socket.recv(timeout=5))
    assert message == {"type": "refused", "reason": "this ticket is not for this call"}
    good = ticket(wired, sid, "mina").json()["url"]
    with connect(ws_url(wired, good), open_timeout=5) as socket:
        assert json.loads(socket.recv(timeout=5))["type"] == "hello"
    with connect(ws_url(wired, good), open_timeout=5) as socket:
        assert json.loads(socket.recv(timeout=5))["type"] == "refused"
    # A ticket for ken on this call (the service would not issue one): the socket refuses it.
    import asyncio

    from core import tickets
    from core.redis_client import async_client

    async def ken_ticket() -> str:
        assert wired.service.settings is not None
        settings = wired.service.settings
        redis = async_client(RedisTarget(settings.redis_url or "", False, None), 2)
        try:
            holder = tickets.Holder("supervisor", "ken", None, stream="listen", call=sid)
            return (await tickets.issue(redis, settings.namespace, holder)).ticket
        finally:
            await redis.aclose()

    forged = ws_url(wired, f"/listen/audio?sid={sid}&ticket={asyncio.run(ken_ticket())}")
    with connect(forged, open_timeout=5) as socket:
        message = json.loads(socket.recv(timeout=5))
    assert message["type"] == "refused" and "leads support" in message["reason"]
    # A listen ticket opens nothing else.
    with wired.service.client() as http:
        listen_ticket = ticket(wired, sid, "mina").json()["ticket"]
        board = http.get("/events/board", params={"ticket": listen_ticket})
    assert board.status_code == 401


def test_revoking_the_key_ends_the_audio(wired: Wired) -> None:
    call = wired.new_call("bob")
    sid = call["conference_sid"]
    wired.wait(lambda: (wired.conference(sid) or {}).get("state") == "talking")
    with open_audio(wired, sid, "quincy") as socket:
        frames(socket, 5)
        import redis as redis_py

        assert wired.service.settings is not None
        assert wired.service.settings.redis_url is not None
        redis = redis_py.Redis.from_url(wired.service.settings.redis_url)
        key_id = wired.key("quincy").split("_")[1]
        redis.hdel("{" + wired.service.settings.namespace + "}:apikeys", key_id)
        deadline = time.monotonic() + 6
        last: Any = None
        while time.monotonic() < deadline:
            last = socket.recv(timeout=5)
            if isinstance(last, str):
                break
        assert json.loads(last) == {"type": "signed-out", "reason": "your key was revoked"}


def test_the_call_ending_ends_the_audio(wired: Wired) -> None:
    call = wired.new_call("bob")
    sid = call["conference_sid"]
    wired.wait(lambda: (wired.conference(sid) or {}).get("state") == "talking")
    with open_audio(wired, sid, "mina") as socket:
        frames(socket, 5)
        wired.act(sid, "end")
        deadline = time.monotonic() + 8
        last: Any = None
        while time.monotonic() < deadline:
            last = socket.recv(timeout=5)
            if isinstance(last, str):
                break
        assert json.loads(last)["type"] == "ended"


def test_the_media_stream_socket_wants_twilios_signature(wired: Wired) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(wired, "/twilio/media-stream"), open_timeout=5)
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        connect(ws_url(wired, "/twilio/media-stream"), open_timeout=5,
                additional_headers={"X-Twilio-Signature": "Zm9yZ2Vk"})  # fmt: skip


def test_twilios_socket_on_one_process_the_browser_on_another(wired: Wired, tmp_path: Any) -> None:
    """Two service processes behind one public URL: Twilio's stream lands on the first (this
    test's thread), the browser on the second (a real `earpiece callbacks` process), and
    the audio crosses through Redis."""
    import os
    import signal
    import subprocess
    import sys

    from tests.conftest import ACCOUNT_SID, API_TOKEN, AUTH_TOKEN, DEMO_ROSTER
    from tests.helpers import ServerThread
    from tests.live.test_scale_out import _ready

    settings = wired.service.settings
    assert settings is not None and settings.redis_url is not None
    port = ServerThread.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EARPIECE_", "TWILIO_"))}
    env.update(
        REDIS_URL=settings.redis_url, EARPIECE_NAMESPACE=settings.namespace,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        PUBLIC_BASE_URL=wired.service.url, TWILIO_API_BASE_URL=wired.sim.url,
        EARPIECE_API_TOKEN=API_TOKEN, EARPIECE_ROSTER=DEMO_ROSTER,
    )  # fmt: skip
    with open(tmp_path / "second.log", "wb") as log:
        second = subprocess.Popen(
            [sys.executable, "-m", "earpiece.cli", "callbacks", "--port", str(port)],
            env=env, cwd=tmp_path, stdout=log, stderr=log,
        )  # fmt: skip
    try:
        _ready(port)
        call = wired.new_call("bob")
        sid = call["conference_sid"]
        wired.wait(lambda: (wired.conference(sid) or {}).get("state") == "talking")
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            timeout=10,
            headers={"Authorization": f"Bearer {wired.key('ana')}"},
        ) as http:
            answer = http.post(f"/api/conferences/{sid}/listen")  # fmt: skip
        assert answer.status_code == 201, answer.text
        with connect(f"ws://127.0.0.1:{port}" + answer.json()["url"], open_timeout=5) as socket:
            assert json.loads(socket.recv(timeout=5))["type"] == "hello"
            tracks = frames(socket, 25)
        assert peak_hz(decode(tracks[1])) == pytest.approx(CUSTOMER_HZ, abs=20)
        assert peak_hz(decode(tracks[2])) == pytest.approx(AGENT_HZ, abs=20)
        # Twilio's socket was the first process's: it published what the second relayed.
        relay = wired.service.app.state.relay
        assert relay.published > 0 and not relay.ears
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)


def test_the_floor_row_names_browser_listeners_beside_phone_legs() -> None:
    from live.board import Rows, monitoring, monitors

    call = {"sid": "CF1", "monitors": [{"supervisor": "ken", "mode": "whisper",
                                        "status": "connected"},
                                       {"supervisor": "ivy", "mode": "barge",
                                        "status": "dialing"}]}  # fmt: skip
    assert monitoring(call, ["ana", "mina"]) == (
        "ken (whisper), ivy (barge · dialing), ana (listen · browser), mina (listen · browser)"
    )
    # The same as codes, for the dashboard to write in the reader's words and names.
    assert monitors(call, ["ana"]) == [
        {"id": "ken", "mode": "whisper", "dialing": False, "browser": False},
        {"id": "ivy", "mode": "barge", "dialing": True, "browser": False},
        {"id": "ana", "mode": "listen", "dialing": False, "browser": True},
    ]
    # A row kept from the last pass is redone when who hears it changes, and its call's
    # version moves (the call page waits on it).
    rows = Rows()
    first = rows.entries([call], 0.0, True)[0]
    assert rows.entries([call], 0.0, True)[0] is first
    version = rows.versions["CF1"]
    again = rows.entries([call], 0.0, True, browser={"CF1": ["ana"]})[0]
    assert again is not first and again.row["monitoring"].endswith("ana (listen · browser)")
    assert rows.versions["CF1"] == version + 1


def test_the_media_stream_socket_refuses_what_is_not_twilios_stream(wired: Wired) -> None:
    """Signed, but not JSON, or a start naming no call Earpiece streams: closed with 1008,
    and nothing published."""
    from twilio.request_validator import RequestValidator
    from websockets.exceptions import ConnectionClosed

    url = ws_url(wired, "/twilio/media-stream")
    signed = {"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(url, {})}
    relay = wired.service.app.state.relay
    before = relay.published
    for first in ("not json {", json.dumps({"event": "start", "start": {
            "customParameters": {"conference": "CF" + "0" * 32}}})):  # fmt: skip
        with connect(url, open_timeout=5, additional_headers=signed) as socket:
            socket.send(first)
            with pytest.raises(ConnectionClosed) as closed:
                socket.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert relay.published == before


def test_a_region_without_media_streams_says_so(wiring: Any) -> None:
    """A JP1 account (Twilio offers Media Streams in US1, IE1 and AU1): the ticket is refused
    with the reason, and Listen still rings the supervisor's phone."""
    wired: Wired = wiring(TWILIO_REGION="jp1")
    call = wired.new_call("bob")
    refused = ticket(wired, call["conference_sid"], "mina")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "media-streams-unavailable"
    assert "Listen rings your phone" in refused.json()["error"]["message"]
    assert not wired.sim.thread.app.state.streamer.streams
