"""`/checkin history | reminders | pause | resume`: a member's own side of check-ins.
Parsing and rendering only; the rules live in CheckinService. Facilitators' round
commands are in `_facilitate.py`."""

from __future__ import annotations

import asyncio
import io
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CircleBot
from bot.dm import DirectMessenger
from bot.errors import ValidationError
from bot.replies import reply_ephemeral, within_deadline
from bot.ui.checkins import history_text
from bot.ui.mood_chart import render_mood_chart

log = logging.getLogger(__name__)

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
    async def reminders(
        self, interaction: discord.Interaction, setting: app_commands.Range[str, 1, 10]
    ) -> None:
        choice = setting.strip().lower()
        if choice not in {"on", "off"}:
            raise ValidationError("Reminders are on or off.", "/checkin reminders setting:on")
        await within_deadline(
            interaction, self.service.set_reminders(interaction.user.id, choice == "on")
        )
        text = (
            "Reminders on: one DM a few hours before a round closes, only if you haven't answered."
            if choice == "on"
            else "Reminders off. Rounds are still posted in your circle's channel."
        )
        await reply_ephemeral(interaction, text)

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
    async def pause(
        self, interaction: discord.Interaction, until: app_commands.Range[str, 1, 40]
    ) -> None:
        today = self.bot.resources.clock.now().date()
        day = await within_deadline(
            interaction, self.service.pause(interaction.user.id, until, today)
        )
        await reply_ephemeral(
            interaction,
            f"You're away until {day:%a %d %b %Y}. Take care; `/checkin resume` if you're back sooner.",
        )

    @app_commands.command(name="resume", description="Back from a pause.")
    async def resume(self, interaction: discord.Interaction) -> None:
        await within_deadline(interaction, self.service.resume(interaction.user.id))
        await reply_ephemeral(
            interaction, "Welcome back. Reminders (if on) resume with the next round."
        )
