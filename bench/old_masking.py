"""`python -m bench.old_masking callbacks ...`: the callback service with the masking of
before issue 22 (bench/old_redact.py) in place of live/redact.py's, for bench/masking.py's
side-by-side ingest rounds. Lines carry no window digits, so live/transcript.lua's number
window never opens: the service ingests as it did before."""

from __future__ import annotations

import sys

from bench import old_redact
from earpiece import cli
from live import redact


def old_judge(text: str, final: bool = True) -> redact.Judged:
    plain, harder, card = old_redact.prepare(text)
    return redact.Judged(plain, harder, card, 0)


if __name__ == "__main__":
    redact.judge = old_judge  # live/transcript.py calls redact.judge at each line
    sys.exit(cli.main())
