"""`/privacy export | delete | policy`: a member's rights over what is stored about them."""

from __future__ import annotations

import io

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CircleBot
from bot.ui.privacy import EraseChoice, confirm_erase_view, policy_embed


@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
class Privacy(
    commands.GroupCog,
    group_name="privacy",
    group_description="Your data: see it, take it, erase it.",
):
    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot
        self.service = bot.resources.services.privacy

    @app_commands.command(
        name="export", description="Get a file of everything Circlekeeper stores about you."
    )
    async def export(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        export = await self.service.export(interaction.user.id)
        await interaction.followup.send(
            f"Here is everything stored about you ({export.record_count} record(s), all servers).",
            file=discord.File(io.BytesIO(export.content), filename=export.filename),
            ephemeral=True,
        )

    @app_commands.command(
        name="delete", description="Erase everything Circlekeeper stores about you."
    )
    async def delete(self, interaction: discord.Interaction) -> None:
        user_id = interaction.user.id
        view = confirm_erase_view(user_id)
        await interaction.response.send_message(
            "This erases every check-in, note, membership and setting stored about you, in every "
            "server, at once. It cannot be undone. `/privacy export` first if you want a copy.",
            view=view,
            ephemeral=True,
        )

    @app_commands.command(
        name="policy", description="What is stored about you, why, and for how long."
    )
    async def policy(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(embed=policy_embed(), ephemeral=True)


async def setup(bot: CircleBot) -> None:
    bot.add_dynamic_items(EraseChoice)
    await bot.add_cog(Privacy(bot))
