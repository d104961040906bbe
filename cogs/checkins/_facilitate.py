"""`/facilitate checkin schedule | now | close`: a circle's rounds, for facilitators."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.domain.circles import Circle
from bot.errors import ValidationError
from bot.replies import reply_ephemeral, within_deadline
from bot.services.outbox import Outcome
from bot.text import clip
from bot.ui.checkin_replies import closed_message, opened_message
from bot.ui.timestamps import ts
from cogs.circle_options import CircleName, circle_autocomplete, resolve_circle
from cogs.facilitate import FacilitatorGroup

CIRCLE = "The circle's name"
POST_WAIT_SECONDS = 10.0  # a reply waits this long for the post it reports on


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
            await within_deadline(interaction, service.clear_schedule(found))
            await reply_ephemeral(
                interaction,
                f"Scheduled rounds of **{found.name}** are off. `/facilitate checkin now` still "
                "opens one.",
            )
            return
        if not time:
            raise ValidationError(
                "Add the time rounds open, in the circle's time zone.",
                f"/facilitate checkin schedule circle:{found.name} days:{clip(days, 40)} time:19:00",
            )
        schedule = await within_deadline(
            interaction, service.set_schedule(found, days, time, close_after)
        )
        await within_deadline(
            interaction,
            self.bot.resources.services.circles.note_facilitator(found, interaction.user.id),
        )
        next_at = schedule.next_open_after(self.bot.resources.clock.now())
        await reply_ephemeral(
            interaction,
            f"**{found.name}**: {schedule.describe()}. Next round {ts(next_at)} ({ts(next_at, 'R')}).",
        )

    async def _outcome(self, delivery_id: int | None) -> Outcome:
        """Wait briefly for the post, so the reply says only what happened."""
        if delivery_id is None:
            return Outcome.DELIVERED  # nothing was owed (already delivered)
        return await self.bot.resources.services.outbox.wait(delivery_id, POST_WAIT_SECONDS)

    @app_commands.command(name="now", description="Open a check-in round now.")
    @app_commands.describe(circle=CIRCLE)
    @app_commands.autocomplete(circle=circle_autocomplete)
    async def now(self, interaction: discord.Interaction, circle: CircleName) -> None:
        found = await self._acting_on(interaction, circle)
        opened = await self.bot.resources.services.checkins.open_now(found)
        outcome = await self._outcome(opened.prompt_delivery)
        await interaction.followup.send(
            opened_message(
                opened.round.channel_id, opened.round.closes_at, outcome, opened.repaired
            ),
            ephemeral=True,
        )

    @app_commands.command(
        name="close", description="Close the open round now and post its summary."
    )
    @app_commands.describe(circle=CIRCLE)
    @app_commands.autocomplete(circle=circle_autocomplete)
    async def close(self, interaction: discord.Interaction, circle: CircleName) -> None:
        found = await self._acting_on(interaction, circle)
        closed = await self.bot.resources.services.checkins.close_now(found)
        outcome = await self._outcome(closed.summary_delivery)
        await interaction.followup.send(
            closed_message(closed.summary.answered, found.channel_id, outcome), ephemeral=True
        )
