"""`/ask`, `/capacity`, `/thanks`, `/ledger`: parsing and rendering only (HelpService rules)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CircleBot
from bot.domain.help_requests import CapacityState, Kind, describe_kinds, parse_kind
from bot.replies import reply_ephemeral, within_deadline
from bot.services.outbox import Outcome
from bot.text import clip
from bot.ui.help_requests import AskModal
from cogs.circle_options import CIRCLE_HELP, CircleName, circle_autocomplete, resolve_circle

THANKS_WAIT_SECONDS = 5.0


def _minutes(total: int) -> str:
    hours, minutes = divmod(total, 60)
    return f"{hours}h{minutes:02d}" if hours else f"{minutes} min"


def _starting_with(values: list[str], current: str) -> list[app_commands.Choice[str]]:
    typed = current.strip().lower()
    return [app_commands.Choice(name=v, value=v) for v in values if v.startswith(typed)]


class HelpRequests(commands.Cog):
    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot
        self.service = bot.resources.services.help

    @app_commands.command(
        name="ask", description="Ask your circle for help (you can stay anonymous)."
    )
    @app_commands.describe(kind="emotional, practical, informational or social", circle=CIRCLE_HELP)
    @app_commands.autocomplete(circle=circle_autocomplete)
    @app_commands.guild_only()
    async def ask(
        self,
        interaction: discord.Interaction,
        kind: app_commands.Range[str, 1, 20],
        circle: CircleName | None = None,
    ) -> None:
        chosen = parse_kind(kind)
        found = await resolve_circle(interaction, circle)
        await self.service.check_can_ask(found, interaction.user.id)
        await AskModal(found.id, found.name, chosen).send(interaction)

    @ask.autocomplete("kind")
    async def kind_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return _starting_with([k.value for k in Kind], current)

    @app_commands.command(name="capacity", description="Say how much room you have to help.")
    @app_commands.describe(
        state="available, limited (one help at a time) or resting (nothing routed to you)",
        until="The last day this holds, e.g. 2026-12-01, Dec 1 or 2w (default: until you change it)",
        kinds="Which kinds, e.g. practical,social (default: all)",
        max_helps="Open helps at once: 1 or 2 (default 2)",
    )
    @app_commands.guild_only()
    async def capacity(
        self,
        interaction: discord.Interaction,
        state: app_commands.Range[str, 1, 20],
        until: app_commands.Range[str, 1, 40] | None = None,
        kinds: app_commands.Range[str, 1, 100] | None = None,
        max_helps: app_commands.Range[int, 1, 2] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        capacity = await within_deadline(
            interaction,
            self.service.set_capacity(
                interaction.guild_id, interaction.user.id, state, until, kinds, max_helps
            ),
        )
        until_text = f" through {capacity.until:%a %d %b %Y}" if capacity.until else ""
        if capacity.state is CapacityState.RESTING:
            text = (
                f"Resting{until_text}. No asks will be routed to you and no nudges sent; you "
                "can still see every thread. Take care."
            )
        else:
            text = (
                f"{capacity.state.value.capitalize()}{until_text} for {describe_kinds(capacity.kinds)}, "
                f"up to {capacity.cap()} open help(s) at once. I'll tell you privately of new asks "
                "you have room for, spread fairly; `/capacity state:resting` pauses them."
            )
        await reply_ephemeral(interaction, text)

    @capacity.autocomplete("state")
    async def state_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return _starting_with([s.value for s in CapacityState], current)

    @app_commands.command(name="thanks", description="Thank a member, publicly or privately.")
    @app_commands.describe(
        member="Who you're thanking",
        note="A few words (optional)",
        private="Only they see it (default: posted in the circle)",
        circle=CIRCLE_HELP,
    )
    @app_commands.autocomplete(circle=circle_autocomplete)
    @app_commands.guild_only()
    async def thanks(
        self,
        interaction: discord.Interaction,
        member: discord.User,
        note: app_commands.Range[str, 1, 600] | None = None,
        private: bool = False,
        circle: CircleName | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        guild_id = interaction.guild_id
        found = None if private else await resolve_circle(interaction, circle)

        async def thank_and_post() -> Outcome:
            delivery = await self.service.thank(
                guild_id,
                found,
                interaction.user.id,
                member.id,
                member.bot,
                note,
                private,
            )
            if delivery is None:
                return Outcome.DELIVERED
            return await self.bot.resources.services.outbox.wait(delivery, THANKS_WAIT_SECONDS)

        # The wait for the post is inside the deadline guard too: a post queued behind the
        # channel's rate limit must not hold the first response past Discord's 3 s.
        outcome = await within_deadline(interaction, thank_and_post())
        if outcome is Outcome.FAILED:
            text = (
                f"Saved, but I couldn't deliver it: {'their DMs are closed to me' if private else 'I cannot post there'}. "
                "Maybe tell them in person."
            )
        elif private:
            text = f"Sent privately to {member.mention}. Thank you for noticing."
        else:
            assert found is not None
            text = f"Thanks posted for {member.mention} in **{clip(found.name, 50)}**. Thank you for noticing."
        await reply_ephemeral(interaction, text, allowed_mentions=discord.AllowedMentions.none())

    @app_commands.command(
        name="ledger", description="Your own time given and received (time bank)."
    )
    @app_commands.guild_only()
    async def ledger(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        mine = await within_deadline(
            interaction, self.service.ledger(interaction.guild_id, interaction.user.id)
        )
        text = (
            f"Time given: **{_minutes(mine.given_minutes)}** · received: "
            f"**{_minutes(mine.received_minutes)}** (only entries both sides confirmed count)."
        )
        if mine.waiting:
            text += f"\n{mine.waiting} entr{'y' if mine.waiting == 1 else 'ies'} wait for the other side."
        text += "\nOnly you see this. A balance never stops you from asking."
        await reply_ephemeral(interaction, text)
