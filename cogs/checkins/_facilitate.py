"""`/facilitate checkin schedule | now | close`: a circle's rounds, for facilitators."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.domain.circles import Circle
from bot.errors import ValidationError
from bot.text import clip
from bot.ui.checkins import ts
from cogs.circle_options import CircleName, circle_autocomplete, resolve_circle
from cogs.facilitate import FacilitatorGroup

CIRCLE = "The circle's name"


class CheckinFacilitation(FacilitatorGroup, name="checkin", description="Check-in rounds."):
    async def _acting_on(self, interaction: discord.Interaction, circle: str) -> Circle:
        """The named circle, once the answer is deferred (a round's posts can take a while)
        and this facilitator is noted as one of the circle's."""
        found = await resolve_circle(interaction, circle)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.bot.resources.services.circles.note_facilitator(found, interaction.user.id)
        return found

    @app_commands.command(
        name="schedule", description="Set a circle's recurring check-in round, or turn it off."
    )
    @app_commands.describe(
        circle=CIRCLE,
        days="e.g. mon,thu — or off to stop scheduled rounds",
        time="Local time in the circle's zone, e.g. 19:00",
        close_after="How long each round stays open, e.g. 12h (default 24h)",
    )
    @app_commands.autocomplete(circle=circle_autocomplete)
    async def schedule(
        self,
        interaction: discord.Interaction,
        circle: CircleName,
        days: app_commands.Range[str, 1, 100],
        time: app_commands.Range[str, 1, 20] | None = None,
        close_after: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        found = await resolve_circle(interaction, circle)
        service = self.bot.resources.services.checkins
        if days.strip().lower() == "off":
            await service.clear_schedule(found)
            await interaction.response.send_message(
                f"Scheduled rounds of **{found.name}** are off. `/facilitate checkin now` still "
                "opens one.",
                ephemeral=True,
            )
            return
        if not time:
            raise ValidationError(
                "Add the time rounds open, in the circle's time zone.",
                f"/facilitate checkin schedule circle:{found.name} days:{clip(days, 40)} time:19:00",
            )
        schedule = await service.set_schedule(found, days, time, close_after)
        await self.bot.resources.services.circles.note_facilitator(found, interaction.user.id)
        next_at = schedule.next_open_after(self.bot.resources.clock.now())
        await interaction.response.send_message(
            f"**{found.name}**: {schedule.describe()}. Next round {ts(next_at)} ({ts(next_at, 'R')}).",
            ephemeral=True,
        )

    @app_commands.command(name="now", description="Open a check-in round now.")
    @app_commands.describe(circle=CIRCLE)
    @app_commands.autocomplete(circle=circle_autocomplete)
    async def now(self, interaction: discord.Interaction, circle: CircleName) -> None:
        found = await self._acting_on(interaction, circle)
        round_ = await self.bot.resources.services.checkins.open_now(found)
        await interaction.followup.send(
            f"Opened a round in <#{round_.channel_id}>; it closes {ts(round_.closes_at)}.",
            ephemeral=True,
        )

    @app_commands.command(
        name="close", description="Close the open round now and post its summary."
    )
    @app_commands.describe(circle=CIRCLE)
    @app_commands.autocomplete(circle=circle_autocomplete)
    async def close(self, interaction: discord.Interaction, circle: CircleName) -> None:
        found = await self._acting_on(interaction, circle)
        summary = await self.bot.resources.services.checkins.close_now(found)
        await interaction.followup.send(
            f"Closed. {summary.answered} checked in; the summary is posted in <#{found.channel_id}>.",
            ephemeral=True,
        )
