"""`/circle join | leave | info`: the members' side. Parsing and rendering only; the rules
live in CircleService. Facilitators' circle commands are in `_facilitate.py`."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CircleBot
from bot.checks import is_facilitator
from bot.domain.roles import role_info
from bot.replies import reply_ephemeral, within_deadline
from bot.ui.circles import agreement_embed, info_embed, join_view
from bot.ui.roles import history_text
from cogs.circle_options import CIRCLE_HELP, CircleName, circle_autocomplete, resolve_circle
from cogs.roles import RoleName, role_autocomplete


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
        embed = info_embed(info)
        history = history_text(await self.bot.resources.services.roles.history(found.id))
        if history:  # rotating roles (circle care, issue 13)
            embed.add_field(name="Rotating roles", value=history, inline=False)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    info.autocomplete("circle")(circle_autocomplete)

    # -- rotating roles (circle care, issue 13) ------------------------------------------

    @app_commands.command(
        name="volunteer", description="Offer to take a rotating role in a circle, in turn."
    )
    @app_commands.describe(role="keeper, reminder or prompt", circle=CIRCLE_HELP)
    async def volunteer(
        self, interaction: discord.Interaction, role: RoleName, circle: CircleName | None = None
    ) -> None:
        found = await resolve_circle(interaction, circle)
        services = self.bot.resources.services
        key, added = await within_deadline(
            interaction, services.roles.volunteer(found, interaction.user.id, role)
        )
        info = role_info(key)
        name = discord.utils.escape_markdown(found.name)
        await reply_ephemeral(
            interaction,
            f"Thank you. You're in the rotation for **{info.title}** ({info.duty}) in **{name}**."
            if added
            else f"You're already in the rotation for **{info.title}** in **{name}**.",
        )

    @app_commands.command(name="unvolunteer", description="Leave a role's rotation.")
    @app_commands.describe(role="keeper, reminder or prompt", circle=CIRCLE_HELP)
    async def unvolunteer(
        self, interaction: discord.Interaction, role: RoleName, circle: CircleName | None = None
    ) -> None:
        found = await resolve_circle(interaction, circle)
        services = self.bot.resources.services
        key, removed = await within_deadline(
            interaction, services.roles.unvolunteer(found, interaction.user.id, role)
        )
        title = role_info(key).title
        await reply_ephemeral(
            interaction,
            f"You're out of the rotation for **{title}**. Thank you for the turns you took."
            if removed
            else f"You weren't in the rotation for **{title}** there.",
        )

    volunteer.autocomplete("circle")(circle_autocomplete)
    volunteer.autocomplete("role")(role_autocomplete)
    unvolunteer.autocomplete("circle")(circle_autocomplete)
    unvolunteer.autocomplete("role")(role_autocomplete)
