"""`/ping`: the bare round trip, and the floor every benchmark compares against."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands


class Meta(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="ping", description="Check that Circlekeeper is awake.")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def ping(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Pong — Circlekeeper is here.", ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Meta(bot))
