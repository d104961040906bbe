"""`/facilitate buddies schedule | off | now | stats`: a circle's buddy cycles."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.replies import reply_ephemeral, within_deadline
from bot.ui.buddies import schedule_text, stats_text
from bot.ui.timestamps import ts
from cogs.circle_options import CircleName, circle_autocomplete, resolve_circle
from cogs.facilitate import FacilitatorGroup

CIRCLE = "The circle's name"


class BuddyFacilitation(FacilitatorGroup, name="buddies", description="Buddy pairing cycles."):
    @app_commands.command(name="schedule", description="Start buddy cycles on a schedule.")
    @app_commands.describe(
        circle=CIRCLE,
        every="How often: 1w or 2w",
        day="The day cycles start, e.g. mon",
        time="Local time in the circle's zone, e.g. 18:00",
    )
    @app_commands.autocomplete(circle=circle_autocomplete)
    async def schedule(
        self,
        interaction: discord.Interaction,
        circle: CircleName,
        every: app_commands.Range[str, 1, 20],
        day: app_commands.Range[str, 1, 20],
        time: app_commands.Range[str, 1, 20],
    ) -> None:
        found = await resolve_circle(interaction, circle)
        service = self.bot.resources.services.buddies
        schedule = await within_deadline(interaction, service.set_schedule(found, every, day, time))
        next_at = schedule.first_start_after(self.bot.resources.clock.now())
        await reply_ephemeral(interaction, schedule_text(found, schedule, next_at))

    @app_commands.command(name="off", description="Stop scheduled buddy cycles.")
    @app_commands.describe(circle=CIRCLE)
    @app_commands.autocomplete(circle=circle_autocomplete)
    async def off(self, interaction: discord.Interaction, circle: CircleName) -> None:
        found = await resolve_circle(interaction, circle)
        had = await within_deadline(
            interaction, self.bot.resources.services.buddies.clear_schedule(found)
        )
        name = discord.utils.escape_markdown(found.name)
        await reply_ephemeral(
            interaction,
            f"Scheduled buddy cycles of **{name}** are off; the running cycle finishes."
            if had
            else f"**{name}** had no buddy schedule. To set one: "
            f"`/facilitate buddies schedule circle:{found.name} every:1w day:mon time:18:00`",
        )

    @app_commands.command(name="now", description="End the running cycle and pair again now.")
    @app_commands.describe(circle=CIRCLE)
    @app_commands.autocomplete(circle=circle_autocomplete)
    async def now(self, interaction: discord.Interaction, circle: CircleName) -> None:
        found = await resolve_circle(interaction, circle)
        await interaction.response.defer(ephemeral=True, thinking=True)
        started = await self.bot.resources.services.buddies.start_now(found)
        pairing = started.pairing
        trios = sum(1 for g in pairing.groups if len(g) == 3)
        lone = f", {len(pairing.lone)} could not be placed (told privately)" if pairing.lone else ""
        await interaction.followup.send(
            f"New buddy cycle until {ts(started.cycle.ends_at, 'D')}: {pairing.placed} members in "
            f"{len(pairing.groups)} groups ({trios} trio{'s' if trios != 1 else ''}){lone}. "
            "Introductions are on their way by DM.",
            ephemeral=True,
        )

    @app_commands.command(name="stats", description="Counts only: opted in, paired, connected.")
    @app_commands.describe(circle=CIRCLE)
    @app_commands.autocomplete(circle=circle_autocomplete)
    async def stats(self, interaction: discord.Interaction, circle: CircleName) -> None:
        found = await resolve_circle(interaction, circle)
        opted, cycles = await within_deadline(
            interaction, self.bot.resources.services.buddies.stats(found)
        )
        await reply_ephemeral(interaction, stats_text(found, opted, cycles))
