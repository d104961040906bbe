"""`/facilitate circle …`: create circles, edit agreements, choose who facilitates."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.checks import manage_server_only
from bot.domain.circles import NAME_MAX
from bot.domain.schedule import timezone_choices
from bot.errors import ValidationError
from bot.replies import reply_ephemeral, within_deadline
from bot.text import clip
from bot.ui.circles import AgreementModal
from bot.ui.roles import status_embed
from cogs.circle_options import CircleName, circle_autocomplete, resolve_circle
from cogs.facilitate import FacilitatorGroup

NEEDED = discord.Permissions(view_channel=True, send_messages=True, embed_links=True)
TIMEZONE_MAX = 64  # IANA names are at most 32 characters; spaces may stand for "_"


async def timezone_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=z, value=z) for z in timezone_choices(current)]


class CircleFacilitation(
    FacilitatorGroup, name="circle", description="Circles and who facilitates them."
):
    @app_commands.command(name="create", description="Create a circle bound to a text channel.")
    @app_commands.describe(
        name="e.g. Tuesday Evenings",
        channel="Where its check-ins are posted (default: this channel)",
        timezone="IANA time zone, e.g. America/New_York (default: UTC or the last one used here)",
    )
    @app_commands.autocomplete(timezone=timezone_autocomplete)
    async def create(
        self,
        interaction: discord.Interaction,
        name: app_commands.Range[str, 1, NAME_MAX],
        channel: discord.TextChannel | None = None,
        timezone: app_commands.Range[str, 1, TIMEZONE_MAX] | None = None,
    ) -> None:
        assert interaction.guild is not None
        target = channel or interaction.channel
        example = f"/facilitate circle create name:{clip(name, NAME_MAX)} channel:#circle"
        if not isinstance(target, discord.TextChannel):
            raise ValidationError("Circles live in a text channel. Name one.", example)
        mine = (
            interaction.app_permissions  # what Discord says, for the channel used here
            if target.id == interaction.channel_id
            else target.permissions_for(interaction.guild.me)
        )
        if not NEEDED.is_subset(mine):
            raise ValidationError(
                f"I can't post in {target.mention}: I need View Channel, Send Messages and Embed Links there. "
                "Grant them, or choose another channel.",
                example,
            )
        circle = await within_deadline(
            interaction,
            self.bot.resources.services.circles.create(
                interaction.guild.id, name, target.id, timezone, interaction.user.id
            ),
        )
        await reply_ephemeral(
            interaction,
            f"Created **{discord.utils.escape_markdown(circle.name)}** in {target.mention} ({circle.timezone}). "
            f"Members join with `/circle join circle:{circle.name}`; set rounds with "
            "`/facilitate checkin schedule`.",
        )

    @app_commands.command(name="agreement", description="Edit a circle's agreement.")
    @app_commands.describe(circle="The circle's name")
    @app_commands.autocomplete(circle=circle_autocomplete)
    async def agreement(self, interaction: discord.Interaction, circle: CircleName) -> None:
        found = await resolve_circle(interaction, circle)
        await AgreementModal(found).send(interaction)  # a form can't wait: it goes first
        await self.bot.resources.services.circles.note_facilitator(found, interaction.user.id)

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
                "/facilitate circle facilitator-role role:@Facilitators",
            )
        await within_deadline(
            interaction,
            self.bot.resources.services.circles.set_facilitator_role(interaction.guild_id, role.id),
        )
        await reply_ephemeral(
            interaction,
            f"Members with {role.mention} are now facilitators. To let them see `/facilitate`, allow "
            "the role in Server Settings → Integrations → Circlekeeper.",
            allowed_mentions=discord.AllowedMentions.none(),
        )

    # -- rotating roles (circle care, issue 13) ------------------------------------------

    @app_commands.command(
        name="roles", description="A circle's rotating roles: volunteers, rotation on or off."
    )
    @app_commands.describe(
        circle="The circle's name", rotation="True: rotate (first cycle now); False: stop"
    )
    @app_commands.autocomplete(circle=circle_autocomplete)
    async def roles(
        self, interaction: discord.Interaction, circle: CircleName, rotation: bool | None = None
    ) -> None:
        found = await resolve_circle(interaction, circle)
        roles = self.bot.resources.services.roles
        if rotation is not None:
            await within_deadline(interaction, roles.set_rotation(found, rotation))
        status = await within_deadline(interaction, roles.status(found))
        await reply_ephemeral(
            interaction,
            "Members opt in with `/circle volunteer role:keeper` (or reminder, prompt). Each "
            "cycle follows the check-in schedule, or comes weekly.",
            embed=status_embed(found, status),
            allowed_mentions=discord.AllowedMentions.none(),
        )

    # -- help requests: where a circle's asks and thank-yous go (issue 12)

    async def _help_channel(
        self,
        interaction: discord.Interaction,
        circle: str,
        channel: discord.TextChannel,
        which: str,
    ) -> None:
        found = await resolve_circle(interaction, circle)
        needed = THREAD_NEEDED if which == "help" else NEEDED
        if not needed.is_subset(channel.permissions_for(channel.guild.me)):
            raise ValidationError(
                f"I can't use {channel.mention}: I need View Channel, Send Messages"
                + (
                    ", Create Public Threads and Send Messages in Threads"
                    if which == "help"
                    else ""
                )
                + " there. Grant them, or choose another channel.",
                f"/facilitate circle {which}-channel circle:{found.name} channel:#{channel.name}",
            )
        await within_deadline(
            interaction, self.bot.resources.services.help.set_channel(found, which, channel.id)
        )
        what = "Asks open their threads" if which == "help" else "Public thank-yous are posted"
        await reply_ephemeral(
            interaction, f"{what} in {channel.mention} for **{clip(found.name, NAME_MAX)}**."
        )

    @app_commands.command(name="help-channel", description="Where a circle's asks open threads.")
    @app_commands.describe(circle="The circle's name", channel="A text channel")
    @app_commands.autocomplete(circle=circle_autocomplete)
    async def help_channel(
        self, interaction: discord.Interaction, circle: CircleName, channel: discord.TextChannel
    ) -> None:
        await self._help_channel(interaction, circle, channel, "help")

    @app_commands.command(
        name="gratitude-channel", description="Where a circle's public thank-yous go."
    )
    @app_commands.describe(circle="The circle's name", channel="A text channel")
    @app_commands.autocomplete(circle=circle_autocomplete)
    async def gratitude_channel(
        self, interaction: discord.Interaction, circle: CircleName, channel: discord.TextChannel
    ) -> None:
        await self._help_channel(interaction, circle, channel, "gratitude")


THREAD_NEEDED = discord.Permissions(
    view_channel=True, send_messages=True, create_public_threads=True, send_messages_in_threads=True
)
