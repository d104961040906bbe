"""`/resources add | list | search` for members; `/facilitate resources approve | remove |
approval` for facilitators. Parsing and rendering only: the rules live in ResourcesService."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CircleBot
from bot.domain.resources import KINDS, Resource, parse_kind
from bot.replies import reply_ephemeral, within_deadline
from bot.services.resources import ResourcesService
from bot.ui.resources import ResourceForm, resources_message
from cogs.crisis import region_autocomplete
from cogs.facilitate import FacilitatorGroup

NO_PINGS = discord.AllowedMentions.none()
KindName = app_commands.Range[str, 1, 40]


async def kind_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    typed = current.casefold()
    return [
        app_commands.Choice(name=kind.label, value=kind.key)
        for kind in KINDS
        if typed in kind.key or typed in kind.label.casefold()
    ]


async def _answer(interaction: discord.Interaction, text: str) -> None:
    """Links show as links and never unfurl into previews of other sites."""
    await reply_ephemeral(interaction, text, allowed_mentions=NO_PINGS, suppress_embeds=True)


@app_commands.guild_only()
class Resources(
    commands.GroupCog,
    group_name="resources",
    group_description="The circle's shared knowledge: care, groups, training, coping ideas.",
):
    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot
        self.service = bot.resources.services.resources

    @app_commands.command(
        name="add", description="Share a resource that helped, for everyone here."
    )
    @app_commands.describe(kind="What kind of resource", anonymous="Show it as added by “a member”")
    @app_commands.autocomplete(kind=kind_autocomplete)
    async def add(
        self, interaction: discord.Interaction, kind: KindName, anonymous: bool = False
    ) -> None:
        await ResourceForm(parse_kind(kind), anonymous).send(interaction)

    @app_commands.command(name="list", description="The shared resources, by kind and region.")
    @app_commands.describe(kind="Only this kind", region="Only this country (and anywhere/online)")
    @app_commands.autocomplete(kind=kind_autocomplete, region=region_autocomplete)
    async def list_(
        self,
        interaction: discord.Interaction,
        kind: KindName | None = None,
        region: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        found, code = await within_deadline(
            interaction, self.service.listing(interaction.guild_id, kind, region)
        )
        await self._show(
            interaction,
            found,
            f"**Shared resources**{f' for {code}' if code else ''} ({len(found)})",
            "Nothing listed for that yet. Add one with `/resources add kind:sliding-scale`.",
        )

    @app_commands.command(name="search", description="Find shared resources by words.")
    @app_commands.describe(words="e.g. sliding scale clinic")
    async def search(
        self, interaction: discord.Interaction, words: app_commands.Range[str, 1, 100]
    ) -> None:
        assert interaction.guild_id is not None
        found = await within_deadline(interaction, self.service.search(interaction.guild_id, words))
        await self._show(
            interaction,
            found,
            f"**{len(found)} match(es)**",
            "Nothing matches all of those words. Try fewer words, or `/resources list`.",
        )

    async def _show(
        self, interaction: discord.Interaction, found: list[Resource], heading: str, empty: str
    ) -> None:
        if not found:
            await _answer(interaction, empty)
            return
        today = self.bot.resources.clock.now().date()
        await _answer(interaction, resources_message(found, today, heading))


def _choice(resource: Resource) -> app_commands.Choice[str]:
    return app_commands.Choice(name=f"#{resource.id} {resource.name}"[:100], value=str(resource.id))


async def _entries_autocomplete(
    interaction: discord.Interaction, current: str, *, pending_only: bool
) -> list[app_commands.Choice[str]]:
    bot: CircleBot = interaction.client  # type: ignore[assignment]
    assert interaction.guild_id is not None
    service = bot.resources.services.resources
    entries = await (service.pending if pending_only else service.entries)(interaction.guild_id)
    return [_choice(r) for r in entries if current.casefold() in r.name.casefold()][:25]


async def pending_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    return await _entries_autocomplete(interaction, current, pending_only=True)


async def entry_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    return await _entries_autocomplete(interaction, current, pending_only=False)


class ResourcesFacilitation(
    FacilitatorGroup, name="resources", description="The server's shared resources list."
):
    @property
    def service(self) -> ResourcesService:
        return self.bot.resources.services.resources

    @app_commands.command(name="approve", description="List an entry that waits for approval.")
    @app_commands.describe(entry="An entry waiting for approval")
    @app_commands.autocomplete(entry=pending_autocomplete)
    async def approve(
        self, interaction: discord.Interaction, entry: app_commands.Range[str, 1, 100]
    ) -> None:
        assert interaction.guild_id is not None
        found = await within_deadline(
            interaction, self.service.approve(interaction.guild_id, entry)
        )
        await _answer(
            interaction,
            f"Approved: **{discord.utils.escape_markdown(found.name)}** is now in `/resources list`.",
        )

    @app_commands.command(name="remove", description="Remove an entry from the server's list.")
    @app_commands.describe(entry="The entry to remove")
    @app_commands.autocomplete(entry=entry_autocomplete)
    async def remove(
        self, interaction: discord.Interaction, entry: app_commands.Range[str, 1, 100]
    ) -> None:
        assert interaction.guild_id is not None
        found = await within_deadline(interaction, self.service.remove(interaction.guild_id, entry))
        await _answer(interaction, f"Removed **{discord.utils.escape_markdown(found.name)}**.")

    @app_commands.command(
        name="approval",
        description="Whether new entries wait for a facilitator before they're listed.",
    )
    @app_commands.describe(
        required="True: entries wait for /facilitate resources approve (empty: show the setting)"
    )
    async def approval(
        self, interaction: discord.Interaction, required: bool | None = None
    ) -> None:
        assert interaction.guild_id is not None
        if required is None:
            required = await within_deadline(
                interaction, self.service.approval_required(interaction.guild_id)
            )
        else:
            await within_deadline(
                interaction, self.service.set_approval(interaction.guild_id, required)
            )
        await _answer(
            interaction,
            "New entries now wait for a facilitator's approval (`/facilitate resources approve`)."
            if required
            else "New entries are listed as soon as they're added.",
        )


async def setup(bot: CircleBot) -> None:
    bot.forms.add(ResourceForm)
    await bot.add_cog(Resources(bot))
    ResourcesFacilitation.attach(bot)
