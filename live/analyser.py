"""SudachiPy in a process of its own, for the lines phrase matching must analyse (issue 23).

Why a process: the profile of Japanese transcript ingest (ARCHITECTURE.md) found that
analysing a line inside the service costs ten times what it costs back to back (13 µs
against 200-450 µs), because between two lines the webhook's other work (parsing, the
signature, Redis) pushes the analyser's dictionary out of the CPU's caches. Gathering
the lines of a tick (live/match_batch.py) only shares that cost out. A process that does
nothing else keeps its dictionary warm, and the service then pays for sending a batch's
text and reading back its words: measured beside the service's own analysis, about a
sixth of the service's CPU per line (ARCHITECTURE.md, issue 23).

How: one worker per service process (`python -m live.analyser`), started on the first
line that needs it, fed through its stdin and answering on its stdout, in frames of a
4-byte big-endian length and JSON (orjson, C on both sides). A request is a list of
texts; the answer is, for each text in order, its words as `live.japanese.tokens(text,
LONG)` gives them. Requests are answered in the order sent, so the service needs no ids.

The same words either way: until the worker has said it is ready, whenever it is gone
(it is started again a little later) or slow, the service analyses the lines itself
(tests/live/test_analyser.py holds the two to the same words). Only where the work is done
changes; what a line matches does not.

The worker gets the text of lines as said, before masking, over a pipe between two
processes of the service: it writes nothing anywhere, logs nothing, and its environment
holds none of the service's secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from collections import deque
from typing import BinaryIO

import orjson

from live.japanese import LONG, Token, tokens

log = logging.getLogger(__name__)

START_SECONDS = 60.0  # loading the dictionary on a loaded machine; the service analyses meanwhile
ANSWER_SECONDS = 5.0  # a batch not answered by then is analysed in the service
RETRY_SECONDS = 30.0  # after the worker ended, before starting another
# What the worker's environment keeps of the service's: how to find Python and the product.
ENVIRONMENT = ("PATH", "PYTHONPATH", "VIRTUAL_ENV", "HOME", "LANG", "LC_ALL", "TMPDIR")
HEADER = 4


def frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(HEADER, "big") + payload


class Gone(Exception):
    """The worker ended before it answered."""


class AnalyserProcess:
    """`await analyser.tokens(texts)`: each text's words, from the worker; None when the
    caller must analyse them itself (the worker is starting, gone or slow)."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._starting: asyncio.Task[None] | None = None
        self._reading: asyncio.Task[None] | None = None
        self._waiting: deque[asyncio.Future[list[list[Token]]]] = deque()
        self._retry_at = 0.0
        self._closed = False
        self.ready = False
        self.answered = 0  # batches the worker analysed (tests, ARCHITECTURE.md's numbers)

    async def tokens(self, texts: list[str]) -> list[list[Token]] | None:
        process = self._process
        if not self.ready or process is None or process.stdin is None:
            self._start_soon()
            return None
        future: asyncio.Future[list[list[Token]]] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        try:
            process.stdin.write(frame(orjson.dumps(texts)))
            return await asyncio.wait_for(future, ANSWER_SECONDS)
        except (Gone, TimeoutError, ConnectionError, RuntimeError):
            # (a timed-out future stays in line, cancelled: its answer, if it comes, is
            # read and dropped, and the answers after it still meet their own futures)
            return None

    def _start_soon(self) -> None:
        if self._closed or self._starting is not None or self._process is not None:
            return
        if time.monotonic() < self._retry_at:
            return
        self._starting = asyncio.get_running_loop().create_task(self._start())

    async def _start(self) -> None:
        try:
            env = {k: v for k, v in os.environ.items() if k in ENVIRONMENT}
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "live.analyser",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                env=env,
            )
            self._process = process
            assert process.stdout is not None
            # Its first frame says the dictionary is loaded.
            await asyncio.wait_for(_read_frame(process.stdout), START_SECONDS)
            self.ready = True
            self._reading = asyncio.get_running_loop().create_task(self._read(process))
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            log.warning("the Japanese analyser process did not start (%s): analysing in here", exc)
            await self._ended()
        finally:
            self._starting = None

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        try:
            while True:
                answer = orjson.loads(await _read_frame(process.stdout))
                self.answered += 1
                future = self._waiting.popleft()
                if not future.done():
                    future.set_result([[Token(*word) for word in words] for words in answer])
        except (asyncio.IncompleteReadError, ValueError, IndexError, TypeError):
            log.warning("the Japanese analyser process ended: analysing in here for now")
            await self._ended()

    async def _ended(self) -> None:
        self.ready = False
        self._retry_at = time.monotonic() + RETRY_SECONDS
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(Gone())
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.kill()
            with contextlib.suppress(ProcessLookupError, TimeoutError):
                await asyncio.wait_for(process.wait(), 5)

    async def close(self) -> None:
        """Stop the worker (the service is stopping)."""
        if self._starting is not None:
            self._starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starting
        if self._reading is not None:
            self._reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reading
        self._closed = True
        process = self._process
        if process is not None and process.stdin is not None:
            process.stdin.close()  # the worker's read ends: it exits
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 2)
        await self._ended()


async def _read_frame(stream: asyncio.StreamReader) -> bytes:
    size = int.from_bytes(await stream.readexactly(HEADER), "big")
    return await stream.readexactly(size)


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    return data if data is not None and len(data) == size else None


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """The worker: a frame of texts in, a frame of their words out, until its input ends."""
    tokens("起動")  # the dictionary loaded before it says it is ready
    answers.write(frame(b"[]"))
    answers.flush()
    while True:
        header = _read_exactly(requests, HEADER)
        if header is None:
            return
        body = _read_exactly(requests, int.from_bytes(header, "big"))
        if body is None:
            return
        texts = orjson.loads(body)
        answers.write(frame(orjson.dumps([[tuple(w) for w in tokens(t, LONG)] for t in texts])))
        answers.flush()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        serve(sys.stdin.buffer, sys.stdout.buffer)
