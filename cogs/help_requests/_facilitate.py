"""`/facilitate help reveal | balance`: the rare reveal (recorded, the asker told) and load spread."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.domain.help_requests import BALANCE_DAYS
from bot.replies import reply_ephemeral, within_deadline
from bot.text import clip
from cogs.circle_options import CircleName, circle_autocomplete, resolve_circle
from cogs.facilitate import FacilitatorGroup


class HelpFacilitation(FacilitatorGroup, name="help", description="Help requests."):
    @app_commands.command(
        name="reveal", description="Reveal who asked anonymously (recorded; the asker is told)."
    )
    @app_commands.describe(
        ask="The ask's number (its thread's footer: Ask #12)", reason="Why; the asker is told"
    )
    async def reveal(
        self,
        interaction: discord.Interaction,
        ask: app_commands.Range[int, 1, 2**31],
        reason: app_commands.Range[str, 1, 300],
    ) -> None:
        assert interaction.guild_id is not None
        revealed = await within_deadline(
            interaction,
            self.bot.resources.services.help.reveal(
                interaction.guild_id, ask, interaction.user.id, reason
            ),
        )
        await reply_ephemeral(
            interaction,
            f"Ask #{ask} was made by <@{revealed.requester_id}>. This reveal is recorded, and they "
            "are being told who revealed it and why.",
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(
        name="balance", description="Asks and help given per member, last 90 days."
    )
    @app_commands.describe(circle="The circle's name")
    @app_commands.autocomplete(circle=circle_autocomplete)
    async def balance(self, interaction: discord.Interaction, circle: CircleName) -> None:
        found = await resolve_circle(interaction, circle)
        rows = await within_deadline(interaction, self.bot.resources.services.help.balance(found))
        if not rows:
            await reply_ephemeral(
                interaction,
                f"No asks or help in **{clip(found.name, 50)}** in the last {BALANCE_DAYS} days.",
            )
            return
        lines = [f"**{clip(found.name, 50)}**, last {BALANCE_DAYS} days (only you see this):"]
        for row in rows[:40]:
            flags = f" — {'; '.join(f.value for f in row.flags)}" if row.flags else ""
            lines.append(f"<@{row.member_id}>: {row.asks} ask(s), {row.helps} help(s){flags}")
        if any(r.flags for r in rows):
            lines.append(
                "Flags are a prompt to check in kindly: someone carrying a lot may be tired; "
                "someone who only gives may need asking how they are."
            )
        await reply_ephemeral(
            interaction,
            clip("\n".join(lines), 2000),
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(name="settings", description="A circle's idle care and time bank.")
    @app_commands.describe(
        circle="The circle's name",
        idle_days="Quiet days before the asker is asked “still need this?” (1–30, default 3)",
        time_bank="Offer asker and helpers to log time given (default on)",
    )
    @app_commands.autocomplete(circle=circle_autocomplete)
    async def settings(
        self,
        interaction: discord.Interaction,
        circle: CircleName,
        idle_days: app_commands.Range[int, 1, 30] | None = None,
        time_bank: bool | None = None,
    ) -> None:
        found = await resolve_circle(interaction, circle)
        current = await within_deadline(
            interaction,
            self.bot.resources.services.help.configure(found, idle_days, time_bank),
        )
        await reply_ephemeral(
            interaction,
            f"**{clip(found.name, 50)}**: idle care after {current.idle_days} quiet day(s); "
            f"time bank {'on' if current.time_bank else 'off'}.",
        )
