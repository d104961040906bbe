"""`/crisis` from everywhere, and `/facilitate crisis …` for a server's own resources and alerts."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CircleBot
from bot.domain.crisis import LOCAL_HOW_MAX, LOCAL_NAME_MAX, LOCAL_NOTES_MAX, LOCAL_URL_MAX
from bot.errors import ValidationError
from bot.replies import reply_ephemeral, within_deadline
from bot.services.crisis import CrisisCard, CrisisService
from bot.ui.crisis import local_list_embed
from bot.ui.crisis_card import card_message
from bot.ui.crisisplan import my_plan_view
from cogs.facilitate import FacilitatorGroup

log = logging.getLogger(__name__)

# A region as typed: a code, a name or an alias ("United Kingdom of Great Britain…").
RegionOption = app_commands.Range[str, 1, 100]


async def region_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    bot: CircleBot = interaction.client  # type: ignore[assignment]
    return [
        app_commands.Choice(name=name, value=code)
        for name, code in bot.resources.services.crisis.directory.autocomplete(current)
    ]


class Crisis(commands.Cog):
    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot
        self.service = bot.resources.services.crisis

    @app_commands.command(
        name="crisis", description="Crisis lines you can reach right now, for your region."
    )
    @app_commands.describe(
        region="Country or region, e.g. US, UK, Canada, Australia (default: this server's)",
        share="Post it in the channel for someone else (default: only you see it)",
    )
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def crisis(
        self,
        interaction: discord.Interaction,
        region: RegionOption | None = None,
        share: bool = False,
    ) -> None:
        card: CrisisCard | None = None
        try:
            card = await self.service.card(interaction.guild_id, region, str(interaction.locale))
        except Exception as error:  # never: the card must go out whatever happened
            log.error("Crisis lookup failed (%s); sending the fallback", type(error).__name__)
        message = card_message(card)
        # A member with a crisis plan gets a button to it, on their private card only (a
        # shared card must not tell others they have one). Unsure: no button, never a delay.
        plan = not share and await self.bot.resources.services.crisisplan.has_plan_quickly(
            interaction.user.id
        )
        await interaction.response.send_message(
            message.content,
            embeds=message.embeds,
            ephemeral=not share,
            allowed_mentions=discord.AllowedMentions.none(),
            view=my_plan_view() if plan else discord.utils.MISSING,
        )

    crisis.autocomplete("region")(region_autocomplete)


async def local_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    bot: CircleBot = interaction.client  # type: ignore[assignment]
    assert interaction.guild_id is not None
    names = [r.name for r in await bot.resources.services.crisis.list_local(interaction.guild_id)]
    return [
        app_commands.Choice(name=n, value=n) for n in names if current.casefold() in n.casefold()
    ][:25]


class CrisisFacilitation(
    FacilitatorGroup, name="crisis", description="This server's /crisis settings."
):
    @property
    def service(self) -> CrisisService:
        return self.bot.resources.services.crisis

    @app_commands.command(
        name="region", description="The default region for /crisis in this server."
    )
    @app_commands.describe(region="Country or region, e.g. GB, Canada, Australia")
    @app_commands.autocomplete(region=region_autocomplete)
    async def region(self, interaction: discord.Interaction, region: RegionOption) -> None:
        assert interaction.guild_id is not None
        lookup = await within_deadline(
            interaction, self.service.set_region(interaction.guild_id, region)
        )
        await reply_ephemeral(
            interaction,
            f"`/crisis` in this server now shows lines for **{lookup.region.name}** by default.",
        )

    @app_commands.command(
        name="add", description="Add a local resource, shown after the shipped lines."
    )
    @app_commands.describe(
        name="e.g. Riverside Warmline",
        how="How to reach it, e.g. call 555-0100, 5pm–11pm",
        url="A web page (http or https), optional",
        notes="Anything people should know, optional",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        name: app_commands.Range[str, 1, LOCAL_NAME_MAX],
        how: app_commands.Range[str, 1, LOCAL_HOW_MAX],
        url: app_commands.Range[str, 1, LOCAL_URL_MAX] | None = None,
        notes: app_commands.Range[str, 1, LOCAL_NOTES_MAX] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        resource = await within_deadline(
            interaction, self.service.add_local(interaction.guild_id, name, how, url, notes)
        )
        await reply_ephemeral(
            interaction,
            f"Added **{discord.utils.escape_markdown(resource.name)}**. It now appears under “From this server” in `/crisis`.",
        )

    @app_commands.command(name="remove", description="Remove a local resource.")
    @app_commands.describe(name="The resource's name")
    @app_commands.autocomplete(name=local_autocomplete)
    async def remove(
        self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 2 * LOCAL_NAME_MAX]
    ) -> None:
        assert interaction.guild_id is not None
        await within_deadline(interaction, self.service.remove_local(interaction.guild_id, name))
        await reply_ephemeral(
            interaction, f"Removed **{discord.utils.escape_markdown(name.strip())}**."
        )

    @app_commands.command(name="list", description="This server's local resources.")
    async def list_(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        local = await self.service.list_local(interaction.guild_id)
        if not local:
            await interaction.response.send_message(
                'No local resources yet. Add one with `/facilitate crisis add name:"Riverside Warmline" how:"call 555-0100"`.',
                ephemeral=True,
            )
            return
        await interaction.response.send_message(embed=local_list_embed(local), ephemeral=True)

    @app_commands.command(
        name="alerts",
        description="Opt in to a private note to facilitators when a member may want support.",
    )
    @app_commands.describe(
        channel="A private facilitators' channel; leave empty to turn alerts off"
    )
    async def alerts(
        self, interaction: discord.Interaction, channel: discord.TextChannel | None = None
    ) -> None:
        assert interaction.guild is not None
        if channel is not None:
            _check_alerts_channel(interaction.guild, channel)
        await within_deadline(
            interaction,
            self.service.set_alerts(interaction.guild.id, channel.id if channel else None),
        )
        if channel is None:
            await reply_ephemeral(interaction, "Support alerts are off.")
            return
        await reply_ephemeral(
            interaction,
            f"Support alerts go to {channel.mention}. They name the member and the circle, never what they "
            "wrote. Members are told in every circle's agreement and on the crisis card. Please announce it "
            "to your members too.",
        )


ALERTS_NEEDS = discord.Permissions(view_channel=True, send_messages=True)


def _check_alerts_channel(guild: discord.Guild, channel: discord.TextChannel) -> None:
    """Alerts name a member who may be struggling: only a private channel will do."""
    if channel.permissions_for(guild.default_role).view_channel:
        raise ValidationError(
            f"{channel.mention} is visible to everyone. Support alerts name members, so they need a "
            "private channel only facilitators can see.",
            "/facilitate crisis alerts channel:#facilitators (a channel hidden from @everyone)",
        )
    if not ALERTS_NEEDS.is_subset(channel.permissions_for(guild.me)):
        raise ValidationError(
            f"I can't post in {channel.mention}: I need View Channel and Send Messages there.",
            "/facilitate crisis alerts channel:#facilitators",
        )


class SupportAlerts:
    """The Discord side of the safety net's opt-in facilitator note."""

    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot

    async def alert_facilitators(self, channel_id: int, user_id: int, where: str) -> None:
        channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
        assert isinstance(channel, discord.abc.Messageable)
        await channel.send(
            f"<@{user_id}> may want support ({where}). They were shown crisis lines privately. "
            "Their words are not shared here. A gentle, private check-in from a facilitator may help.",
            allowed_mentions=discord.AllowedMentions.none(),
        )


async def setup(bot: CircleBot) -> None:
    await bot.add_cog(Crisis(bot))
    CrisisFacilitation.attach(bot)
    bot.resources.services.safety.notifier = SupportAlerts(bot)
