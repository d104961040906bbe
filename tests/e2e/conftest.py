"""End-to-end fixtures: the local Discord server and the real Circlekeeper bot.

One server and one bot per test module (modules stay isolated; startup is well under a
second). The bot's clock is a FakeClock starting now: tests move time with
`world.advance(...)`, which also runs every persisted job that became due.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import discord.gateway
import discord.http
import pytest

from bot.app import CircleBot
from bot.clock import FakeClock
from bot.localdiscord import Channel, Guild, LocalDiscord, Member
from bot.sandbox.harness import running_bot
from tests.conftest import BACKENDS, fresh_database
from tests.e2e.strict import assert_spec_clean, strict_server


@dataclass
class World:
    server: LocalDiscord
    bot: CircleBot
    clock: FakeClock
    guild: Guild
    facilitator: Member
    sam: Member
    kai: Member
    noor: Member
    channel: Channel
    db_path: Path  # the SQLite file (with PostgreSQL: where the key file sits beside)
    db_url: str | None = None  # the PostgreSQL database, when the module runs on it

    async def advance(self, delta: timedelta) -> int:
        """Move the bot's clock and run whatever became due."""
        self.clock.advance(delta)
        return await run_due(self.bot)


async def run_due(bot: CircleBot) -> int:
    """Run every job due by the bot's clock, then deliver what they owe (posts, DMs)."""
    ran = await bot.resources.jobs.run_due()
    await bot.resources.services.outbox.drain()
    return ran


@pytest.fixture(scope="module", params=BACKENDS)
async def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    """Every module's tests run once with the bot on SQLite and once on PostgreSQL."""
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    db_path = tmp_path_factory.mktemp("e2e") / "circlekeeper.db"
    target = fresh_database(request, request.param, db_path)
    db_url = target if isinstance(target, str) else None
    clock = FakeClock()
    async with strict_server() as server:
        guild = server.create_guild("Sandbox")
        facilitator = guild.add_member("Ada", manage_guild=True)
        sam, kai, noor = (guild.add_member(name) for name in ("Sam", "Kai", "Noor"))
        channel = guild.create_text_channel("tuesday-circle")
        try:
            async with running_bot(server, db_path, clock=clock, db_url=db_url) as bot:
                await server.wait_until_connected()
                yield World(
                    server, bot, clock, guild, facilitator, sam, kai, noor, channel, db_path, db_url
                )
            assert_spec_clean(server)
        finally:
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
