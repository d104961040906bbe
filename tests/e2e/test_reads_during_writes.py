"""Reads have their own connection: a write waiting for the lock never delays them."""

from __future__ import annotations

import asyncio

from tests.e2e.conftest import World
from tests.e2e.embed_text import text_of
from tests.e2e.test_crisis_db_down import server_with_extras


async def test_a_stuck_writer_does_not_delay_reads(world: World) -> None:
    """WAL readers see the last commit while a write waits: /crisis still shows extras."""
    _, member = await server_with_extras(world, "Writer")
    held, release = asyncio.Event(), asyncio.Event()

    async def hog() -> None:
        async with world.bot.resources.db.transaction():
            held.set()
            await release.wait()

    task = asyncio.create_task(hog())
    await held.wait()
    try:
        reply = await member.run("/crisis", region="US", timeout=2.5)
    finally:
        release.set()
        await task
    assert "Riverside Warmline" in text_of(reply.embeds)
