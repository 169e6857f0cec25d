"""Whether a process still runs, by its pid (the embedded Redis's owner, the demo's)."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: asks only whether it exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, but not ours to signal
    return True
