"""End-to-end fixtures: the local Discord server and the real Circlekeeper bot.

One server and one bot per test module (`stage`: startup takes most of a second), and a
fresh server ("guild") with fresh members and a fresh channel for every test (`world`),
so no test sees what another stored, whatever order they run in. The bot's clock is a
FakeClock starting now, shared by the module's tests: tests move it with
`world.advance(...)`, which also runs every persisted job that became due.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import discord.gateway
import discord.http
import pytest

from bot.app import CircleBot
from bot.clock import Clock, FakeClock
from bot.localdiscord import Channel, Guild, LocalDiscord, Member
from bot.sandbox.harness import running_bot
from tests.conftest import BACKENDS, fresh_database
from tests.e2e.strict import assert_spec_clean, strict_server


@dataclass
class Stage:
    """What a module's tests share: the local server, the running bot and its clock."""

    server: LocalDiscord
    bot: CircleBot
    clock: Clock
    db_path: Path
    db_url: str | None = None


@dataclass
class World:
    server: LocalDiscord
    bot: CircleBot
    clock: Clock
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
        assert isinstance(self.clock, FakeClock), "only a FakeClock can be moved"
        self.clock.advance(delta)
        return await run_due(self.bot)


async def run_due(bot: CircleBot) -> int:
    """Run every job due by the bot's clock, then deliver what they owe (posts, DMs)."""
    ran = await bot.resources.jobs.run_due()
    await bot.resources.services.outbox.drain()
    return ran


@asynccontextmanager
async def open_stage(
    directory: Path,
    clock: Clock | None = None,
    db_url: str | None = None,
    metrics_port: int | None = None,
) -> AsyncIterator[Stage]:
    """A local server and the real bot on a new database: SQLite in `directory`, or the
    PostgreSQL database at `db_url`."""
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    db_path = directory / "circlekeeper.db"
    clock = clock or FakeClock()
    async with strict_server() as server:
        try:
            async with running_bot(
                server, db_path, clock=clock, db_url=db_url, metrics_port=metrics_port
            ) as bot:
                await server.wait_until_connected()
                yield Stage(server, bot, clock, db_path, db_url)
            assert_spec_clean(server)
        finally:
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


@pytest.fixture(scope="module", params=BACKENDS)
async def stage(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stage]:
    """Every module's tests run once with the bot on SQLite and once on PostgreSQL."""
    directory = tmp_path_factory.mktemp("e2e")
    target = fresh_database(request, request.param, directory / "circlekeeper.db")
    db_url = target if isinstance(target, str) else None
    async with open_stage(directory, db_url=db_url) as shared:
        yield shared


async def new_world(stage: Stage) -> World:
    """A server of its own on the shared stage: a facilitator, three members, one channel."""
    server, bot = stage.server, stage.bot
    guild = server.create_guild("Sandbox")
    facilitator = guild.add_member("Ada", manage_guild=True)
    sam, kai, noor = (guild.add_member(name) for name in ("Sam", "Kai", "Noor"))
    channel = guild.create_text_channel("tuesday-circle")
    await server.wait_for(
        lambda: bot.get_channel(channel.id) is not None,
        message=f"the bot never saw the new server {guild.id}",
    )
    return World(
        server,
        bot,
        stage.clock,
        guild,
        facilitator,
        sam,
        kai,
        noor,
        channel,
        stage.db_path,
        stage.db_url,
    )


@pytest.fixture
async def world(stage: Stage) -> World:
    return await new_world(stage)
