"""`/circle join | leave | info`: the members' side. Parsing and rendering only; the rules
live in CircleService. Facilitators' circle commands are in `_facilitate.py`."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CircleBot
from bot.checks import is_facilitator
from bot.replies import reply_ephemeral, within_deadline
from bot.ui.circles import agreement_embed, info_embed, join_view
from cogs.circle_options import CIRCLE_HELP, CircleName, circle_autocomplete, resolve_circle


@app_commands.guild_only()
class Circles(
    commands.GroupCog, group_name="circle", group_description="Peer-support circles in this server."
):
    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot
        self.service = bot.resources.services.circles

    @app_commands.command(
        name="join", description="Join a circle: read its agreement, then press I agree."
    )
    @app_commands.describe(circle=CIRCLE_HELP)
    async def join(
        self, interaction: discord.Interaction, circle: CircleName | None = None
    ) -> None:
        found = await resolve_circle(interaction, circle)
        alerts = await self.bot.resources.services.safety.alerts_channel(found.guild_id) is not None
        await interaction.response.send_message(
            embed=agreement_embed(found, alerts_enabled=alerts),
            view=join_view(found.id),
            ephemeral=True,
        )

    join.autocomplete("circle")(circle_autocomplete)

    @app_commands.command(name="leave", description="Leave a circle.")
    @app_commands.describe(circle=CIRCLE_HELP)
    async def leave(
        self, interaction: discord.Interaction, circle: CircleName | None = None
    ) -> None:
        found = await resolve_circle(interaction, circle)
        await within_deadline(interaction, self.service.leave(found, interaction.user.id))
        await reply_ephemeral(
            interaction,
            f"You left **{discord.utils.escape_markdown(found.name)}**. Your past check-ins stay yours: "
            "`/privacy export` or `/privacy delete`.",
        )

    leave.autocomplete("circle")(circle_autocomplete)

    @app_commands.command(
        name="info", description="A circle's members, schedule, next round and agreement."
    )
    @app_commands.describe(circle=CIRCLE_HELP)
    async def info(
        self, interaction: discord.Interaction, circle: CircleName | None = None
    ) -> None:
        found = await resolve_circle(interaction, circle)
        info = await self.service.info(found, interaction.user.id)
        if await is_facilitator(interaction):
            await self.service.note_facilitator(found, interaction.user.id)
        await interaction.response.send_message(embed=info_embed(info), ephemeral=True)

    info.autocomplete("circle")(circle_autocomplete)
