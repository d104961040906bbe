"""Server joins and removals: a removed server's data is erased after the grace period."""

from __future__ import annotations

import discord
from discord.ext import commands

from bot.app import CircleBot


class Lifecycle(commands.Cog):
    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot
        self.privacy = bot.resources.services.privacy

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.privacy.guild_left(guild.id)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Servers that removed the bot while it was down are purged like live removals.

        Only servers of this process's shards: the others are not in `bot.guilds` here."""
        await self.privacy.reconcile_guilds(
            {guild.id for guild in self.bot.guilds}, self.bot.resources.jobs.ownership
        )

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.privacy.guild_joined(guild.id)

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        await self.privacy.guild_joined(guild.id)


async def setup(bot: CircleBot) -> None:
    await bot.add_cog(Lifecycle(bot))
