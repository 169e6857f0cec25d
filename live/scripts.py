"""The floor's Lua scripts, each with the feed-entry function before it.

A script is read once at import and registered once per client (`register_script`, or
live/batching.py for the batched ones); every one that writes the change feed writes its
entries with `feed_add` (live/feed_entry.lua), so the entry's shape is written once.
"""

from __future__ import annotations

from importlib import resources

FEED_ENTRY = resources.files("live").joinpath("feed_entry.lua").read_text(encoding="utf-8")


def script(name: str) -> str:
    """live/NAME.lua, after the feed-entry function."""
    return FEED_ENTRY + resources.files("live").joinpath(name).read_text(encoding="utf-8")
