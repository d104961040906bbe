"""The `circle` option every feature shares: autocomplete over the server's circles."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.domain.circles import NAME_MAX, Circle

if TYPE_CHECKING:
    from bot.app import CircleBot

# A circle's name as typed: names are at most NAME_MAX once spaces are tidied; the room
# above that is for sloppy spacing, and keeps a pasted novel out.
CircleName = app_commands.Range[str, 1, 2 * NAME_MAX]
CIRCLE_HELP = "The circle's name (default: this channel's circle)"


async def circle_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    if interaction.guild_id is None:
        return []
    bot: CircleBot = interaction.client  # type: ignore[assignment]
    names = await bot.resources.services.circles.names(interaction.guild_id, current)
    return [app_commands.Choice(name=n, value=n) for n in names]


async def resolve_circle(interaction: discord.Interaction, name: str | None) -> Circle:
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    bot: CircleBot = interaction.client  # type: ignore[assignment]
    return await bot.resources.services.circles.resolve(
        interaction.guild_id, interaction.channel_id, name
    )
