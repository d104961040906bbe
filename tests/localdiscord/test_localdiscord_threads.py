"""Discord's active-thread limit on the real client: a guild holds so many unarchived
threads; one more is refused (160006) until one is archived."""

from __future__ import annotations

import discord
import pytest
from conftest import World


async def test_the_active_thread_limit_refuses_one_more_until_one_is_archived(
    world: World,
) -> None:
    channel = world.bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    already = sum(1 for t in world.guild.threads if not t.archived)
    saved, world.server.max_active_threads = world.server.max_active_threads, already + 2
    try:
        first = await channel.create_thread(name="one", type=discord.ChannelType.public_thread)
        await channel.create_thread(name="two", type=discord.ChannelType.public_thread)
        with pytest.raises(discord.HTTPException) as refused:
            await channel.create_thread(name="three", type=discord.ChannelType.public_thread)
        assert (refused.value.status, refused.value.code) == (400, 160006)
        assert "three" not in [t.name for t in world.guild.threads]
        await first.edit(archived=True)
        third = await channel.create_thread(name="three", type=discord.ChannelType.public_thread)
        assert world.guild.thread("three").id == third.id
    finally:
        world.server.max_active_threads = saved
