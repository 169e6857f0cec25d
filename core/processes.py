"""Processes by pid, on Linux: whether one still runs (the embedded Redis's owner, the demo's),
and which run below it (the benches' CPU of uvicorn's workers, the tests' chromium)."""

from __future__ import annotations

import os
from pathlib import Path


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: asks only whether it exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, but not ours to signal
    return True


def parents() -> dict[int, list[int]]:
    """Every process's children, by parent pid (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended while we looked
        # pid (comm) state ppid ...: comm may hold spaces and parentheses: read after the last ")"
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    return parents().get(pid, [])


def tree(pid: int) -> list[int]:
    """`pid` and every process below it."""
    children = parents()
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found
