"""`/circle …` commands. Parsing and rendering only; the rules live in CircleService."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CircleBot
from bot.checks import facilitator_only, is_facilitator, manage_server_only
from bot.domain.schedule import timezone_choices
from bot.errors import ValidationError
from bot.ui.circles import AgreementModal, agreement_embed, info_embed, join_view
from cogs.circle_options import circle_autocomplete, resolve_circle

CIRCLE = "The circle's name (default: this channel's circle)"
NEEDED = discord.Permissions(view_channel=True, send_messages=True, embed_links=True)


@app_commands.guild_only()
class Circles(
    commands.GroupCog, group_name="circle", group_description="Peer-support circles in this server."
):
    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot
        self.service = bot.resources.services.circles

    async def timezone_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=z, value=z) for z in timezone_choices(current)]

    @app_commands.command(name="create", description="Create a circle bound to a text channel.")
    @app_commands.describe(
        name="e.g. Tuesday Evenings",
        channel="Where its check-ins are posted (default: this channel)",
        timezone="IANA time zone, e.g. America/New_York (default: UTC or the last one used here)",
    )
    @facilitator_only()
    async def create(
        self,
        interaction: discord.Interaction,
        name: app_commands.Range[str, 1, 50],
        channel: discord.TextChannel | None = None,
        timezone: str | None = None,
    ) -> None:
        assert interaction.guild is not None
        target = channel or interaction.channel
        if not isinstance(target, discord.TextChannel):
            raise ValidationError(
                "Circles live in a text channel. Name one.",
                f"/circle create name:{name} channel:#circle",
            )
        mine = (
            interaction.app_permissions  # what Discord says, for the channel used here
            if target.id == interaction.channel_id
            else target.permissions_for(interaction.guild.me)
        )
        if not NEEDED.is_subset(mine):
            raise ValidationError(
                f"I can't post in {target.mention}: I need View Channel, Send Messages and Embed Links there. "
                "Grant them, or choose another channel.",
                f"/circle create name:{name} channel:#circle",
            )
        circle = await self.service.create(
            interaction.guild.id, name, target.id, timezone, interaction.user.id
        )
        await interaction.response.send_message(
            f"Created **{discord.utils.escape_markdown(circle.name)}** in {target.mention} ({circle.timezone}). "
            f"Members join with `/circle join circle:{circle.name}`; set rounds with `/checkin schedule`.",
            ephemeral=True,
        )

    create.autocomplete("timezone")(timezone_autocomplete)

    @app_commands.command(
        name="facilitator-role", description="Who counts as facilitator, besides Manage Server."
    )
    @app_commands.describe(role="Members with this role can run circles")
    @manage_server_only()
    async def facilitator_role(self, interaction: discord.Interaction, role: discord.Role) -> None:
        assert interaction.guild_id is not None
        if role.is_default():
            raise ValidationError(
                "Choose a specific role, not @everyone.",
                "/circle facilitator-role role:@Facilitators",
            )
        await self.service.set_facilitator_role(interaction.guild_id, role.id)
        await interaction.response.send_message(
            f"Members with {role.mention} are now facilitators. To let them see facilitator commands, allow "
            "the role in Server Settings → Integrations → Circlekeeper.",
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(name="agreement", description="Edit a circle's agreement.")
    @app_commands.describe(circle=CIRCLE)
    @facilitator_only()
    async def agreement(self, interaction: discord.Interaction, circle: str) -> None:
        found = await resolve_circle(interaction, circle)
        await self.service.note_facilitator(found, interaction.user.id)
        await interaction.response.send_modal(AgreementModal(self.bot, found))

    agreement.autocomplete("circle")(circle_autocomplete)

    @app_commands.command(
        name="join", description="Join a circle: read its agreement, then press I agree."
    )
    @app_commands.describe(circle=CIRCLE)
    async def join(self, interaction: discord.Interaction, circle: str | None = None) -> None:
        found = await resolve_circle(interaction, circle)
        alerts = await self.bot.resources.services.safety.alerts_channel(found.guild_id) is not None
        await interaction.response.send_message(
            embed=agreement_embed(found, alerts_enabled=alerts),
            view=join_view(found.id),
            ephemeral=True,
        )

    join.autocomplete("circle")(circle_autocomplete)

    @app_commands.command(name="leave", description="Leave a circle.")
    @app_commands.describe(circle=CIRCLE)
    async def leave(self, interaction: discord.Interaction, circle: str | None = None) -> None:
        found = await resolve_circle(interaction, circle)
        await self.service.leave(found, interaction.user.id)
        await interaction.response.send_message(
            f"You left **{discord.utils.escape_markdown(found.name)}**. Your past check-ins stay yours: "
            "`/privacy export` or `/privacy delete`.",
            ephemeral=True,
        )

    leave.autocomplete("circle")(circle_autocomplete)

    @app_commands.command(
        name="info", description="A circle's members, schedule, next round and agreement."
    )
    @app_commands.describe(circle=CIRCLE)
    async def info(self, interaction: discord.Interaction, circle: str | None = None) -> None:
        found = await resolve_circle(interaction, circle)
        info = await self.service.info(found, interaction.user.id)
        if await is_facilitator(interaction):
            await self.service.note_facilitator(found, interaction.user.id)
        await interaction.response.send_message(embed=info_embed(info), ephemeral=True)

    info.autocomplete("circle")(circle_autocomplete)
