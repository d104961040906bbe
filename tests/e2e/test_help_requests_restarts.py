"""Help requests across restarts, on SQLite and PostgreSQL: two bots one after the other on
one database and one local server. Buttons, timers and owed posts outlive the first bot."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import discord.gateway
import discord.http
import pytest

from bot.clock import FakeClock
from bot.localdiscord import Channel, LocalDiscord
from bot.sandbox.harness import running_bot
from tests.e2e import help_helpers as hh
from tests.e2e.conftest import run_due
from tests.e2e.strict import assert_spec_clean, strict_server

POST = "POST /channels/{channel_id}/messages"


@pytest.fixture
async def server() -> AsyncIterator[LocalDiscord]:
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    try:
        async with strict_server() as local:
            yield local
            assert_spec_clean(local)
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


def _db(target: str | Path, tmp_path: Path) -> dict[str, Any]:
    """running_bot's arguments for this backend."""
    if isinstance(target, str):
        return {"db_path": tmp_path / "circlekeeper.db", "db_url": target}
    return {"db_path": target}


async def _setup(server: LocalDiscord, first: Any) -> tuple[Any, Any, Any, Channel]:
    guild = server.create_guild("Restarts")
    ada = guild.add_member("Ada", manage_guild=True)
    sam, kai = guild.add_member("Sam"), guild.add_member("Kai")
    channel = guild.create_text_channel("circle")
    await server.wait_for(lambda: first.get_channel(channel.id) is not None)
    services = first.resources.services
    circle = await services.circles.create(guild.id, "Restart", channel.id, None, ada.id)
    for member in (sam, kai):
        await services.circles.join(circle.id, member.id)
    return ada, sam, kai, channel


async def test_a_restart_between_ask_and_offer_loses_nothing(
    server: LocalDiscord, tmp_path: Path, database_target: str | Path
) -> None:
    clock, where = FakeClock(), _db(database_target, tmp_path)
    async with running_bot(server, clock=clock, **where) as first:
        await server.wait_until_connected()
        _, sam, kai, channel = await _setup(server, first)
        await kai.run("/capacity", channel=channel, state="available")
        await hh.ask(sam, channel, anonymous=True, what="Groceries on Friday")
        await run_due(first)
        [thread] = channel.threads
        opening = thread.messages[0]
        assert len([m for m in kai.dms if "asked for practical help" in m.text]) == 1

    async with running_bot(server, clock=clock, **where) as second:
        await server.wait_until_connected()
        offered = await kai.click("I can help", message=opening)  # a button from before
        assert "told privately" in offered.text, offered.describe()
        await run_due(second)
        [offer_dm] = [m for m in sam.dms if "offered to help" in m.text]
        accepted = await sam.click("Accept", message=offer_dm)
        assert "Accepted" in accepted.text
        # The care timer was rebuilt from the database: quiet for 3 days, the asker is asked.
        clock.advance(timedelta(days=3, minutes=1))
        await run_due(second)
        assert [m for m in sam.dms if "Do you still need this?" in m.text]
        assert len([m for m in kai.dms if "asked for practical help" in m.text]) == 1
        assert len(channel.threads) == 1


async def test_an_ask_post_interrupted_by_a_restart_lands_once(
    server: LocalDiscord, tmp_path: Path, database_target: str | Path
) -> None:
    clock, where = FakeClock(), _db(database_target, tmp_path)
    title = "Practical · Help carrying boxes"
    async with running_bot(server, clock=clock, **where) as first:
        await server.wait_until_connected()
        _, sam, _, channel = await _setup(server, first)
        # Discord creates the post, but the bot never hears back: it stops right there.
        hold = server.hold(
            POST,
            stage="after",
            match=lambda body: any(e.get("title") == title for e in body.get("embeds") or []),
        )
        asking = asyncio.create_task(hh.ask(sam, channel, what="Help carrying boxes", when=None))
        try:
            await hold.wait_caught(10.0)
        finally:
            hold.release()  # the first bot is stopping: it never records the post
    asking.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await asking
    assert len(channel.threads) == 1

    async with running_bot(server, clock=clock, **where) as second:
        await server.wait_until_connected()
        # The interrupted delivery's lease is void at start; the worker finishes it.
        async with asyncio.timeout(10):
            while await _thread_id(second) is None:  # noqa: ASYNC110 (a database condition)
                await asyncio.sleep(0.02)
        [thread] = channel.threads
        posts = [m for m in thread.messages if title in m.text]
        assert len(posts) == 1, [m.text for m in thread.messages]
        assert await _thread_id(second) == thread.id


async def _thread_id(bot: Any) -> int | None:
    async with bot.resources.db.read() as tx:
        value = await tx.scalar("SELECT thread_id FROM help_asks")
    return None if value is None else int(value)
