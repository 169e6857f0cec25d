"""`python -m bench.full_read_board callbacks ...`: the callback service with the board hub
of before issue 29 (the whole floor read on every pass, `BoardHub(incremental=False)`), for
bench/board_pass.py's side-by-side watcher rounds."""

from __future__ import annotations

import sys
from typing import Any

from earpiece import cli
from live import board_hub

_made = board_hub.BoardHub.__init__


def _full_read(self: board_hub.BoardHub, *args: Any, **kwargs: Any) -> None:
    kwargs.setdefault("incremental", False)
    _made(self, *args, **kwargs)


if __name__ == "__main__":
    board_hub.BoardHub.__init__ = _full_read  # type: ignore[method-assign]
    sys.exit(cli.main())
