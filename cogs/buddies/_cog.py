"""`/buddy join | leave | snooze | avoid | unavoid | current`: the members' side.
Parsing and rendering only; the rules live in BuddyService."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CircleBot
from bot.replies import reply_ephemeral, within_deadline
from bot.ui.buddies import current_text
from cogs.circle_options import CIRCLE_HELP, CircleName, circle_autocomplete, resolve_circle

PRIVATE = "Only you can see this; nobody is ever told, facilitators included."


@app_commands.guild_only()
class Buddies(
    commands.GroupCog,
    group_name="buddy",
    group_description="Buddy pairing: one person to check on.",
):
    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot
        self.service = bot.resources.services.buddies

    def _guild(self, interaction: discord.Interaction) -> int:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        return interaction.guild_id

    @app_commands.command(name="join", description="Take part in your circle's buddy pairing.")
    @app_commands.describe(circle=CIRCLE_HELP)
    @app_commands.autocomplete(circle=circle_autocomplete)
    async def join(
        self, interaction: discord.Interaction, circle: CircleName | None = None
    ) -> None:
        found = await resolve_circle(interaction, circle)
        changed = await within_deadline(interaction, self.service.join(found, interaction.user.id))
        name = discord.utils.escape_markdown(found.name)
        await reply_ephemeral(
            interaction,
            f"You're in buddy pairing for **{name}**: you'll get a DM with your buddy each cycle."
            if changed
            else f"You're already in buddy pairing for **{name}**.",
        )

    @app_commands.command(name="leave", description="Stop taking part in a circle's pairing.")
    @app_commands.describe(circle=CIRCLE_HELP)
    @app_commands.autocomplete(circle=circle_autocomplete)
    async def leave(
        self, interaction: discord.Interaction, circle: CircleName | None = None
    ) -> None:
        found = await resolve_circle(interaction, circle)
        left = await within_deadline(interaction, self.service.leave(found, interaction.user.id))
        name = discord.utils.escape_markdown(found.name)
        await reply_ephemeral(
            interaction,
            f"You've left buddy pairing for **{name}**. `/buddy join` any time to come back."
            if left
            else f"You weren't in buddy pairing for **{name}**. To take part: `/buddy join`.",
        )

    @app_commands.command(name="snooze", description="Skip buddy cycles until a date.")
    @app_commands.describe(until="The date you're back, e.g. 2026-12-01, Dec 1, or 2w")
    async def snooze(
        self, interaction: discord.Interaction, until: app_commands.Range[str, 1, 40]
    ) -> None:
        day = await within_deadline(
            interaction, self.service.snooze(self._guild(interaction), interaction.user.id, until)
        )
        await reply_ephemeral(
            interaction, f"Snoozed until {day:%a %d %b %Y}: no buddy until then. Take care."
        )

    @app_commands.command(name="avoid", description="Never be paired with someone (private).")
    @app_commands.describe(member="Who you'd rather not be paired with")
    async def avoid(self, interaction: discord.Interaction, member: discord.User) -> None:
        added = await within_deadline(
            interaction,
            self.service.avoid(
                self._guild(interaction), interaction.user.id, member.id, member.bot
            ),
        )
        text = (
            "Done: you won't be paired." if added else "Already on your list: you won't be paired."
        )
        await reply_ephemeral(interaction, f"{text} {PRIVATE}")

    @app_commands.command(name="unavoid", description="Take someone off your avoid list.")
    @app_commands.describe(member="Who to take off your list")
    async def unavoid(self, interaction: discord.Interaction, member: discord.User) -> None:
        removed = await within_deadline(
            interaction,
            self.service.unavoid(self._guild(interaction), interaction.user.id, member.id),
        )
        await reply_ephemeral(
            interaction,
            "Taken off your avoid list." if removed else "They weren't on your avoid list.",
        )

    @app_commands.command(name="current", description="Who your buddy is this cycle.")
    async def current(self, interaction: discord.Interaction) -> None:
        found = await within_deadline(
            interaction, self.service.current(self._guild(interaction), interaction.user.id)
        )
        await reply_ephemeral(
            interaction, current_text(found), allowed_mentions=discord.AllowedMentions.none()
        )
