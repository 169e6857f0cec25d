"""A supervisor's board choices, kept on the server: only known teams and columns are
stored, a lead who never chose starts on their own teams, and a damaged document falls
back to the defaults instead of breaking the board."""

from __future__ import annotations

import asyncio

from core.redis_client import RedisTarget, async_client
from live.preferences import COLUMNS, DEFAULT_COLUMNS, MAX_BYTES, Preferences
from live.roster import load as load_roster

ROSTER = load_roster(None)


def test_defaults_then_what_was_chosen_and_nothing_unknown(
    redis_target: RedisTarget, namespace: str
) -> None:
    haruka, mina = ROSTER.supervisors["haruka"], ROSTER.supervisors["mina"]

    async def run() -> None:
        redis = async_client(redis_target)
        try:
            prefs = Preferences(redis, namespace, ROSTER)
            first = await prefs.board(haruka)
            assert (first.teams, first.columns, first.chosen) == (
                ("jp-support",), DEFAULT_COLUMNS, False)  # fmt: skip
            assert (await prefs.board(mina)).teams == ()  # a manager starts on the whole floor
            # The 7 is a wrong type on purpose: a saved choice not a string is dropped.
            chosen = ["jp-support", "billing", "<script>", "jp-support", 7]
            kept = await prefs.save_board(haruka, chosen, ["Why", "Agent talk", "Password"])  # type: ignore[arg-type]
            assert kept.teams == ("jp-support", "billing") and kept.columns == ("Why", "Agent talk")
            again = await prefs.board(haruka)
            assert again == kept and again.chosen
            # Hiding every column is a choice too, kept as made.
            await prefs.save_board(mina, [], [])
            assert (await prefs.board(mina)).columns == ()
            assert set(DEFAULT_COLUMNS) <= set(COLUMNS)
        finally:
            await redis.aclose()

    asyncio.run(run())


def test_a_damaged_or_oversized_document_reads_as_the_defaults(
    redis_target: RedisTarget, namespace: str
) -> None:
    ken = ROSTER.supervisors["ken"]

    async def run() -> None:
        redis = async_client(redis_target)
        try:
            prefs = Preferences(redis, namespace, ROSTER)
            for stored in (b"{not json", b"[1, 2]", b'"teams"', b" " * (MAX_BYTES + 1)):
                await redis.set(prefs.key("ken"), stored)
                read = await prefs.board(ken)
                assert (read.teams, read.columns) == (("support", "billing"), DEFAULT_COLUMNS)
            # A team the roster no longer has is dropped on reading, the rest kept.
            await redis.set(prefs.key("ken"), b'{"teams": ["gone", "billing"]}')
            read = await prefs.board(ken)
            assert read.teams == ("billing",) and read.columns == DEFAULT_COLUMNS and read.chosen
        finally:
            await redis.aclose()

    asyncio.run(run())
