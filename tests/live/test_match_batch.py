"""live/match_batch.py: lines needing the analyser, matched in a row, each as if alone."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from live import match_batch
from live.japanese import LONG, Token, tokens
from live.match_batch import MatchBatch
from live.phrases import Matcher

CANCEL = Matcher.of(["解約", "責任者", "cancel my account"], ["解約率"])
COMPLAINT = Matcher.of(["クレーム"], ["クレーム対応"])
LINES = [
    (CANCEL, "解約したいです"),
    (CANCEL, "解約率の話です"),  # excluded by the team
    (COMPLAINT, "クレームを言いたい"),
    (COMPLAINT, "クレームブリュレをください"),  # a hint, but another word
    (CANCEL, "I want to cancel my account"),  # no analyser: matched at once
    (CANCEL, "責任者を出してください"),
]


def test_a_ticks_lines_match_as_each_would_alone_and_the_analysed_ones_in_one_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs: list[int] = []
    real_run = MatchBatch._run

    def counted(self: MatchBatch) -> None:
        runs.append(len(self._pending))
        real_run(self)

    monkeypatch.setattr(match_batch.MatchBatch, "_run", counted)

    async def run() -> list[list[str]]:
        batch = MatchBatch()
        return list(await asyncio.gather(*(batch.matches(m, t) for m, t in LINES)))

    got = asyncio.run(run())
    assert got == [m.matches(t) for m, t in LINES]
    assert got[0] == ["解約"] and got[1] == [] and got[2] == ["クレーム"] and got[3] == []
    assert got[4] == ["cancel my account"] and got[5] == ["責任者"]
    # The English line is not among the analysed: the five Japanese ones ran together.
    assert runs == [sum(1 for m, t in LINES if m.analyses(t))] and runs[0] >= 4


def test_a_line_that_fails_fails_only_its_own_caller() -> None:
    class Broken(Matcher):
        def analyses(self, text: str) -> bool:
            return True

        def matches(
            self, text: str, analyses: bool | None = None, analysed: list[Token] | None = None
        ) -> list[str]:
            raise RuntimeError("the analyser failed")

    broken = Broken(CANCEL.phrases, CANCEL.excluded)

    async def run() -> list[object]:
        batch = MatchBatch()
        return list(await asyncio.gather(batch.matches(broken, "解約したい"),
                                         batch.matches(CANCEL, "解約したいです"),
                                         return_exceptions=True))  # fmt: skip

    failed, fine = asyncio.run(run())
    assert isinstance(failed, RuntimeError) and fine == ["解約"]


class ReadyWorker:
    """An analyser process that is ready (live/analyser.py), answering with the words this
    process works out."""

    ready = True

    async def tokens(self, texts: list[str]) -> list[list[Token]]:
        return [tokens(text, LONG) for text in texts]


def test_with_the_worker_ready_a_line_goes_at_the_end_of_its_tick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The 20 ms wait is for lines analysed in the service (a cold dictionary paid once a
    batch); the worker's stays warm, so a tick's lines go to it at once, and still together."""
    delays: list[float] = []
    real_later = asyncio.BaseEventLoop.call_later

    def later(self: asyncio.BaseEventLoop, delay: float, *args: Any) -> asyncio.TimerHandle:
        delays.append(delay)
        return real_later(self, delay, *args)

    monkeypatch.setattr(asyncio.BaseEventLoop, "call_later", later)

    async def run(batch: MatchBatch) -> list[list[str]]:
        return list(await asyncio.gather(*(batch.matches(m, t) for m, t in LINES)))

    alone = [m.matches(t) for m, t in LINES]
    worker = ReadyWorker()
    assert asyncio.run(run(MatchBatch(worker))) == alone  # type: ignore[arg-type]
    assert asyncio.run(run(MatchBatch())) == alone
    gathers = [d for d in delays if d in (0.0, match_batch.GATHER_SECONDS)]
    assert gathers == [0.0, match_batch.GATHER_SECONDS], delays
