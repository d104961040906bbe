"""Fixtures: one local server and one throwaway bot per test module."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import discord
import discord.gateway
import discord.http
import pytest
from ld_bot import TestBot

from bot.endpoints import apply_endpoints
from bot.localdiscord import Channel, Guild, LocalDiscord, Member

DISCORD_API_SPEC = Path(__file__).parents[1] / "data" / "discord_api_spec" / "openapi.json"


@dataclass
class World:
    server: LocalDiscord
    bot: TestBot
    guild: Guild
    ada: Member
    sam: Member
    channel: Channel


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[World]:
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    server = LocalDiscord(interaction_deadline=0.3, openapi_spec=DISCORD_API_SPEC)
    await server.start()
    guild = server.create_guild("Sandbox")
    ada = guild.add_member("Ada", manage_guild=True)
    sam = guild.add_member("Sam")
    channel = guild.create_text_channel("circle")
    apply_endpoints(server.api_base, server.gateway_url)
    bot = TestBot()
    task = asyncio.create_task(bot.start(server.token))
    try:
        await server.wait_until_connected()
        await asyncio.wait_for(bot.wait_until_ready(), 5)
        yield World(server, bot, guild, ada, sam, channel)
    finally:
        await bot.close()
        await asyncio.gather(task, return_exceptions=True)
        await server.stop()
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
