"""`python -m bench.analysed_here callbacks ...`: the callback service with every Japanese line
analysed inside it (as before live/analyser.py), for bench/japanese_ingest.py's side-by-side
rounds: the analyser process is never asked, so MatchBatch analyses each batch itself."""

from __future__ import annotations

import sys

from earpiece import cli
from live.analyser import AnalyserProcess
from live.japanese import Token


async def never(self: AnalyserProcess, texts: list[str]) -> list[list[Token]] | None:
    return None  # "analyse them yourself", as while the process starts


if __name__ == "__main__":
    AnalyserProcess.tokens = never  # type: ignore[method-assign]
    sys.exit(cli.main())
