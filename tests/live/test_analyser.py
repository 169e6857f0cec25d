"""The Japanese analyser's own process (live/analyser.py): the same words as the service's own
analysis, the same phrase hits through MatchBatch, and the service carrying on alone (with
the same hits) while the process starts, after it died, and once it was closed."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from live import analyser as analyser_module
from live.analyser import AnalyserProcess
from live.japanese import LONG, tokens
from live.match_batch import MatchBatch
from live.phrases import Matcher
from tests.live.test_phrases_japanese import ENGLISH, JAPANESE, JP

LINES = [line for line, _ in JAPANESE + ENGLISH] + [
    "お電話ありがとうございます、請求が二重になっています、カード番号をお願いします",
    "ｶｰﾄﾞの裏の３桁は１２３です", "", "、。", "A mix of 英語 and 日本語 here",
]  # fmt: skip


async def ready(analyser: AnalyserProcess, seconds: float = 60.0) -> None:
    """Ask until the process answers (it starts on the first request that needs it)."""
    deadline = time.monotonic() + seconds
    while await analyser.tokens(["起動"]) is None:
        assert time.monotonic() < deadline, "the analyser process never became ready"
        await asyncio.sleep(0.05)


async def test_the_process_gives_the_words_the_service_would() -> None:
    analyser = AnalyserProcess()
    try:
        assert await analyser.tokens(LINES) is None  # not started yet: the caller analyses
        await ready(analyser)
        words = await analyser.tokens(LINES)
        assert words == [tokens(line, LONG) for line in LINES]
        # Batches sent at once are answered each with its own words, in order.
        halves = await asyncio.gather(analyser.tokens(LINES[:5]), analyser.tokens(LINES[5:]))
        assert list(halves) == [words[:5], words[5:]]  # gather gives a list (typeshed: a tuple)
        assert analyser.answered >= 3
    finally:
        await analyser.close()


async def test_phrase_hits_are_the_same_from_the_process_and_without_it() -> None:
    matcher = Matcher.of(JP.phrases, JP.not_phrases)
    analyser = AnalyserProcess()
    try:
        await ready(analyser)
        before = analyser.answered
        elsewhere, here = MatchBatch(analyser), MatchBatch()
        for line, expected in JAPANESE:
            assert set(await elsewhere.matches(matcher, line)) == expected, line
            assert set(await here.matches(matcher, line)) == expected, line
        assert analyser.answered > before  # the process did the analysing
    finally:
        await analyser.close()


def environment_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(p.split("=", 1) for p in raw.decode().split("\0") if "=" in p)


async def test_a_dead_process_is_carried_on_without_then_started_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "a-secret-the-worker-must-not-hold")
    monkeypatch.setattr(analyser_module, "RETRY_SECONDS", 0.2)
    matcher = Matcher.of(JP.phrases, JP.not_phrases)
    analyser = AnalyserProcess()
    try:
        await ready(analyser)
        process = analyser._process
        assert process is not None
        assert "TWILIO_AUTH_TOKEN" not in environment_of(process.pid)
        process.kill()
        await process.wait()
        batch = MatchBatch(analyser)
        # While it is gone, the lines are analysed here, with the same hits.
        for line, expected in JAPANESE:
            assert set(await batch.matches(matcher, line)) == expected, line
        await ready(analyser)  # started again
        assert analyser._process is not None and analyser._process.pid != process.pid
    finally:
        await analyser.close()
    gone = analyser._process
    assert gone is None and not analyser.ready
    assert process.returncode is not None
    await asyncio.sleep(0.3)  # past RETRY_SECONDS
    assert await analyser.tokens(["解約"]) is None  # closed for good: never started again
    await asyncio.sleep(0.1)
    assert analyser._process is None and analyser._starting is None


def test_the_worker_ends_when_its_input_ends(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k in analyser_module.ENVIRONMENT}
    worker = subprocess.run(
        [sys.executable, "-m", "live.analyser"], input=b"", capture_output=True, env=env,
        timeout=120,
    )  # fmt: skip
    assert worker.returncode == 0
    assert worker.stdout == analyser_module.frame(b"[]")  # ready, then nothing asked
    assert worker.stderr == b""
