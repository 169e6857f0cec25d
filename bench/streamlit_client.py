"""A Streamlit watcher at the protocol level: what one browser tab sends, without drawing.

It opens the app's WebSocket (`/_stcore/stream`, subprotocol `streamlit`),
asks for the first run with the page's query string, and then does what the
frontend does for every `st.fragment(run_every=…)`: on each `auto_rerun`
message it asks for that fragment's rerun every `interval` seconds. It counts
the fragment runs the server finished and delivered. It costs the server what
a real tab costs it (the drawing is the browser's own cost, not the server's).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

FINISHED_FRAGMENT = ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
FINISHED_EARLY = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN


@dataclass
class Tab:
    url: str  # http://host:port
    query_string: str  # e.g. "session=…"
    delivered: int = 0  # fragment runs finished and sent
    discarded: int = 0  # runs thrown away for a newer rerun request
    received: int = 0  # bytes
    _page: str = ""
    _timers: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    def _rerun(self, fragment_id: str = "") -> bytes:
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query_string
        state.page_script_hash = self._page
        if fragment_id:
            state.fragment_id = fragment_id
            state.is_auto_rerun = True
        return bytes(msg.SerializeToString())

    async def run(self) -> None:
        ws_url = self.url.replace("http", "ws", 1) + "/_stcore/stream"
        async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None) as ws:  # type: ignore[list-item]
            await ws.send(self._rerun())
            try:
                async for raw in ws:
                    assert isinstance(raw, bytes)
                    self.received += len(raw)
                    await self._handle(ws, raw)
            finally:
                for timer in self._timers.values():
                    timer.cancel()

    async def _handle(self, ws: websockets.ClientConnection, raw: bytes) -> None:
        msg = ForwardMsg()
        msg.ParseFromString(raw)
        kind = msg.WhichOneof("type")
        if kind == "new_session" and msg.new_session.page_script_hash:
            self._page = msg.new_session.page_script_hash
        elif kind == "navigation" and msg.navigation.page_script_hash:
            self._page = msg.navigation.page_script_hash
        elif kind == "auto_rerun":
            fragment, every = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
            if fragment not in self._timers:
                self._timers[fragment] = asyncio.create_task(self._every(ws, fragment, every))
        elif kind == "script_finished":
            if msg.script_finished == FINISHED_FRAGMENT:
                self.delivered += 1
            elif msg.script_finished == FINISHED_EARLY:
                self.discarded += 1

    async def _every(self, ws: websockets.ClientConnection, fragment: str, every: float) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.sleep(every)
                await ws.send(self._rerun(fragment))
