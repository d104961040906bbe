"""`/crisis` answers with the shipped lines when the database stalls or is gone.

Each test has a bot and a database of its own (`stage` below): one of them closes the database.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.localdiscord import Member
from bot.replies import SORRY
from bot.ui.crisis import PEER_SUPPORT_NOTE
from tests.e2e.conftest import Stage, World, open_stage
from tests.e2e.embed_text import text_of


@pytest.fixture
async def stage(tmp_path: Path) -> AsyncIterator[Stage]:
    async with open_stage(tmp_path) as own:
        yield own


async def server_with_extras(world: World, name: str) -> tuple[Member, Member]:
    """A fresh server whose facilitator set region GB and a local resource (not yet read)."""
    guild = world.server.create_guild(name)
    admin = guild.add_member(f"{name} admin", manage_guild=True)
    member = guild.add_member(f"{name} member")
    guild.create_text_channel("general")
    await world.server.wait_for(lambda: world.bot.get_guild(guild.id) is not None)
    await admin.run("/facilitate crisis region", region="GB")
    added = await admin.run(
        "/facilitate crisis add", name="Riverside Warmline", how="call 555-0100"
    )
    assert "Added" in added.content, added.describe()
    return admin, member


async def test_the_server_extras_show_while_the_database_is_up(world: World) -> None:
    _, member = await server_with_extras(world, "Up")
    reply = await member.run("/crisis")
    text = text_of(reply.embeds)
    assert reply.embeds[0]["title"] == "Reach a person now — United Kingdom"
    assert "Riverside Warmline" in text


async def test_crisis_answers_while_the_database_is_locked_by_a_stuck_transaction(
    world: World,
) -> None:
    _, member = await server_with_extras(world, "Locked")
    held, release = asyncio.Event(), asyncio.Event()

    async def hog() -> None:
        # A stuck writer alone delays no read (SQLite reads have their own connection,
        # PostgreSQL's their own transactions): so the reader is held too on SQLite, and the
        # tables the command reads are locked on PostgreSQL. Nothing can be read in time.
        async with world.bot.resources.db.transaction() as tx, world.bot.resources.db.read():
            if world.db_url is not None:
                await tx.execute(
                    "LOCK TABLE guild_settings, local_resources IN ACCESS EXCLUSIVE MODE"
                )
            held.set()
            await release.wait()

    task = asyncio.create_task(hog())
    await held.wait()
    try:
        explicit = await member.run("/crisis", region="US", timeout=2.5)
        default = await member.run("/crisis", timeout=2.5)
    finally:
        release.set()
        await task

    assert explicit.ephemeral and SORRY not in explicit.text
    text = text_of(explicit.embeds)
    assert explicit.embeds[0]["title"] == "Reach a person now — United States"
    assert "Call **988**" in text and "1-800-662-4357" in text
    assert "Riverside Warmline" not in text  # the server's extras could not be read in time
    # The server default could not be read: the international card, with the US lines.
    assert default.embeds[0]["title"] == "Reach a person now — International"
    assert "Call **988**" in text_of(default.embeds)
    assert "findahelpline.com" in text_of(default.embeds)


async def test_crisis_answers_when_reading_the_server_extras_fails(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.storage.repositories import local_resources

    _, member = await server_with_extras(world, "Corrupt")

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(local_resources, "list_for", broken)
    reply = await member.run("/crisis", region="GB")

    assert SORRY not in reply.text
    text = text_of(reply.embeds)
    assert reply.embeds[0]["title"] == "Reach a person now — United Kingdom"
    assert "116 123" in text
    assert "Riverside Warmline" not in text
    assert PEER_SUPPORT_NOTE in text


async def test_crisis_answers_after_the_database_connection_is_closed(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    _, member = await server_with_extras(world, "Closed")
    await world.bot.resources.db.close()

    with caplog.at_level(logging.WARNING):
        default = await member.run("/crisis")
        uk = await world.kai.run("/crisis", region="u.k.", channel=world.channel)
        shared = await world.noor.run("/crisis", region="US", share=True, channel=world.channel)
        dm = await world.noor.run("/crisis", region="Australia", dm=True)

    assert default.ephemeral and SORRY not in default.text
    assert "Call **988**" in text_of(default.embeds)
    assert "1-800-662-4357" in text_of(default.embeds)
    assert uk.embeds[0]["title"] == "Reach a person now — United Kingdom"
    assert "116 123" in text_of(uk.embeds)
    assert not shared.ephemeral
    assert "Call **988**" in world.channel.messages[-1].text
    assert "13 11 14" in text_of(dm.embeds)
    assert any("without server extras" in r.getMessage() for r in caplog.records)
