"""Japanese phrase matching of the lines that arrive together, done one after the other.

The profile of Japanese transcript ingest (issue 23, ARCHITECTURE.md) found SudachiPy's
analysis of a line cost 13 µs when lines are analysed back to back but about 200 µs
after other work (measured side by side), and 400-450 µs inside the running service:
between two analyses, a request's parsing, signature check and Redis call push the
analyser's dictionary out of the CPU's caches. So a line that needs the analyser
(`Matcher.analyses`: a Japanese line showing a hint of one of its team's Japanese
phrases) is not analysed where its callback is handled; it waits up to GATHER_SECONDS
for the others, and they are analysed in a row. Each line is matched exactly as alone,
with its own team's phrases; only when the work is done changes. Lines without such a
hint (English, and most Japanese lines) are matched at once, as before. Compare
live/batching.py, which gathers a tick's Redis writes into one script call.
"""

from __future__ import annotations

import asyncio

from live.analyser import AnalyserProcess
from live.japanese import Token
from live.phrases import Matcher

# How long a line needing the analyser waits for others when it is analysed in the service
# (a floor busy enough for it to matter fills a batch sooner): Twilio's callback is answered
# that much later, which it does not notice, and the analyser runs on a warm dictionary for
# the whole batch. Not while the analyser's own process is ready (`_gather_seconds`).
GATHER_SECONDS = 0.02
MAX_BATCH = 64

Pending = tuple[Matcher, str, "asyncio.Future[list[str]]"]


class MatchBatch:
    """`await batch.matches(matcher, text)`: `matcher.matches(text)`, analysed with the
    other lines of the same tick."""

    def __init__(self, analyser: AnalyserProcess | None = None) -> None:
        self._pending: list[Pending] = []
        self._scheduled = False
        self._timer: asyncio.TimerHandle
        # Where the batch's words are worked out when it can (live/analyser.py).
        self.analyser = analyser
        self._elsewhere: set[asyncio.Task[None]] = set()

    async def matches(self, matcher: Matcher, text: str) -> list[str]:
        if not matcher.analyses(text):
            return matcher.matches(text, analyses=False)  # asked once a line, not twice
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[str]] = loop.create_future()
        self._pending.append((matcher, text, future))
        if len(self._pending) >= MAX_BATCH:
            self._run()
        elif not self._scheduled:
            self._scheduled = True
            self._timer = loop.call_later(self._gather_seconds(), self._run)
        return await future

    def _gather_seconds(self) -> float:
        """How long a batch waits for more lines: GATHER_SECONDS when the lines are analysed
        here (a cold dictionary is paid once a batch); none while the worker is ready, whose
        dictionary stays warm whatever the batch: the lines that came in this turn of the
        event loop go at its end, and a callback is not held 20 ms for nothing (with wrk's
        fixed 32 connections, those waits cost bench/japanese_ingest.py a third of its
        Japanese rate while the service sat partly idle)."""
        ready = self.analyser is not None and self.analyser.ready
        return 0.0 if ready else GATHER_SECONDS

    def _run(self) -> None:
        if self._scheduled:
            self._scheduled = False
            self._timer.cancel()  # a full batch went first; its timer has nothing to do
        pending, self._pending = self._pending, []
        if self.analyser is None:
            self._match(pending, None)
            return
        task = asyncio.get_running_loop().create_task(self._match_elsewhere(pending))
        self._elsewhere.add(task)
        task.add_done_callback(self._elsewhere.discard)

    async def _match_elsewhere(self, pending: list[Pending]) -> None:
        assert self.analyser is not None
        try:
            words = await self.analyser.tokens([text for _, text, _ in pending])
        except Exception:  # the lines are matched here all the same
            words = None
        self._match(pending, words)

    @staticmethod
    def _match(pending: list[Pending], words: list[list[Token]] | None) -> None:
        """Each line matched as alone: with the words the analyser process gave, or (None)
        analysed here."""
        for n, (matcher, text, future) in enumerate(pending):
            if future.done():  # its caller was cancelled
                continue
            try:
                if words is None:
                    future.set_result(matcher.matches(text, analyses=True))
                else:
                    future.set_result(matcher.matches(text, analyses=True, analysed=words[n]))
            except Exception as exc:  # one line that fails must not fail the others
                future.set_exception(exc)
