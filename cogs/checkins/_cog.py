"""`/checkin …` commands. Parsing and rendering only; the rules live in CheckinService."""

from __future__ import annotations

import asyncio
import io
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CircleBot
from bot.checks import facilitator_only
from bot.dm import DirectMessenger
from bot.errors import ValidationError
from bot.services.outbox import Outcome
from bot.ui.checkin_replies import closed_message, opened_message
from bot.ui.checkins import history_text, ts
from bot.ui.mood_chart import render_mood_chart
from cogs.circle_options import circle_autocomplete, resolve_circle

log = logging.getLogger(__name__)

CIRCLE = "The circle's name"
POST_WAIT_SECONDS = 10.0  # the reply waits this long for the post it reports on
DMS_CLOSED_NOTICE = (
    "I tried to send you a check-in reminder, but your DMs are closed to me. To get them, allow direct "
    "messages from this server's members (Privacy Settings), then run `/checkin reminders on` again. "
    "Or `/checkin reminders off` and I'll stop trying."
)


@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
class Checkins(
    commands.GroupCog,
    group_name="checkin",
    group_description="Check-in rounds: how are you, really?",
):
    def __init__(self, bot: CircleBot, messenger: DirectMessenger) -> None:
        self.bot = bot
        self.messenger = messenger
        self.service = bot.resources.services.checkins

    @commands.Cog.listener()
    async def on_app_command_completion(
        self, interaction: discord.Interaction, command: object
    ) -> None:
        """Tell a member once, privately, that their DMs were closed when a reminder was due."""
        try:
            if await self.messenger.take_closed_notice(interaction.user.id):
                await interaction.followup.send(DMS_CLOSED_NOTICE, ephemeral=True)
        except Exception as error:  # a notice must never disturb the command that just ran
            log.warning("DM-closed notice skipped: %s", type(error).__name__)

    async def _outcome(self, delivery_id: int | None) -> Outcome:
        """Wait briefly for a post, so the reply says only what happened."""
        if delivery_id is None:
            return Outcome.DELIVERED  # nothing was owed (already delivered)
        return await self.bot.resources.services.outbox.wait(delivery_id, POST_WAIT_SECONDS)

    @app_commands.command(
        name="schedule", description="Set a circle's recurring check-in round, or turn it off."
    )
    @app_commands.describe(
        circle=CIRCLE,
        days="e.g. mon,thu — or off to stop scheduled rounds",
        time="Local time in the circle's zone, e.g. 19:00",
        close_after="How long each round stays open, e.g. 12h (default 24h)",
    )
    @facilitator_only()
    async def schedule(
        self,
        interaction: discord.Interaction,
        circle: str,
        days: str,
        time: str | None = None,
        close_after: str | None = None,
    ) -> None:
        found = await resolve_circle(interaction, circle)
        if days.strip().lower() == "off":
            await self.service.clear_schedule(found)
            await interaction.response.send_message(
                f"Scheduled rounds of **{found.name}** are off. `/checkin now` still opens one.",
                ephemeral=True,
            )
            return
        if not time:
            raise ValidationError(
                "Add the time rounds open, in the circle's time zone.",
                f"/checkin schedule circle:{found.name} days:{days} time:19:00",
            )
        schedule = await self.service.set_schedule(found, days, time, close_after)
        await self.bot.resources.services.circles.note_facilitator(found, interaction.user.id)
        next_at = schedule.next_open_after(self.bot.resources.clock.now())
        await interaction.response.send_message(
            f"**{found.name}**: {schedule.describe()}. Next round {ts(next_at)} ({ts(next_at, 'R')}).",
            ephemeral=True,
        )

    schedule.autocomplete("circle")(circle_autocomplete)

    @app_commands.command(name="now", description="Open a check-in round now.")
    @app_commands.describe(circle=CIRCLE)
    @facilitator_only()
    async def now(self, interaction: discord.Interaction, circle: str) -> None:
        found = await resolve_circle(interaction, circle)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.bot.resources.services.circles.note_facilitator(found, interaction.user.id)
        opened = await self.service.open_now(found)
        outcome = await self._outcome(opened.prompt_delivery)
        await interaction.followup.send(
            opened_message(
                opened.round.channel_id, opened.round.closes_at, outcome, opened.repaired
            ),
            ephemeral=True,
        )

    now.autocomplete("circle")(circle_autocomplete)

    @app_commands.command(
        name="close", description="Close the open round now and post its summary."
    )
    @app_commands.describe(circle=CIRCLE)
    @facilitator_only()
    async def close(self, interaction: discord.Interaction, circle: str) -> None:
        found = await resolve_circle(interaction, circle)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.bot.resources.services.circles.note_facilitator(found, interaction.user.id)
        closed = await self.service.close_now(found)
        outcome = await self._outcome(closed.summary_delivery)
        await interaction.followup.send(
            closed_message(closed.summary.answered, found.channel_id, outcome), ephemeral=True
        )

    close.autocomplete("circle")(circle_autocomplete)

    @app_commands.command(name="history", description="Your own mood chart (only you see it).")
    @app_commands.describe(days="How many days back (default 30)")
    async def history(
        self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 366] = 30
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        history = await self.service.history(interaction.user.id, days)
        if not history.points:
            await interaction.followup.send(
                f"No check-ins in the last {days} days yet. When you answer a round, your moods show up here.",
                ephemeral=True,
            )
            return
        png = await asyncio.to_thread(render_mood_chart, history.points, history.stats, days=days)
        await interaction.followup.send(
            history_text(history.stats, days),
            file=discord.File(io.BytesIO(png), "mood.png"),
            ephemeral=True,
        )

    @app_commands.command(
        name="reminders", description="One DM before a round closes if you haven't answered."
    )
    @app_commands.describe(setting="on or off")
    async def reminders(self, interaction: discord.Interaction, setting: str) -> None:
        choice = setting.strip().lower()
        if choice not in {"on", "off"}:
            raise ValidationError("Reminders are on or off.", "/checkin reminders setting:on")
        await self.service.set_reminders(interaction.user.id, choice == "on")
        text = (
            "Reminders on: one DM a few hours before a round closes, only if you haven't answered."
            if choice == "on"
            else "Reminders off. Rounds are still posted in your circle's channel."
        )
        await interaction.response.send_message(text, ephemeral=True)

    @reminders.autocomplete("setting")
    async def reminders_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=v, value=v)
            for v in ("on", "off")
            if v.startswith(current.lower())
        ]

    @app_commands.command(
        name="pause", description="Away for a while: no reminders, shown as away."
    )
    @app_commands.describe(until="The date you're back, e.g. 2026-12-01, Dec 1, or 2w")
    async def pause(self, interaction: discord.Interaction, until: str) -> None:
        today = self.bot.resources.clock.now().date()
        day = await self.service.pause(interaction.user.id, until, today)
        await interaction.response.send_message(
            f"You're away until {day:%a %d %b %Y}. Take care; `/checkin resume` if you're back sooner.",
            ephemeral=True,
        )

    @app_commands.command(name="resume", description="Back from a pause.")
    async def resume(self, interaction: discord.Interaction) -> None:
        await self.service.resume(interaction.user.id)
        await interaction.response.send_message(
            "Welcome back. Reminders (if on) resume with the next round.", ephemeral=True
        )
