"""The Discord side of check-in rounds: posting prompts and summaries, private deliveries."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import discord

from bot.app import CircleBot
from bot.dm import DirectMessenger
from bot.domain.checkins import RoundSummary, SharedAnswer
from bot.domain.circles import Circle, Round
from bot.ui.checkins import facilitator_messages, round_embed, round_view, summary_messages, ts

log = logging.getLogger(__name__)

NO_PINGS = discord.AllowedMentions.none()


class DiscordCheckinNotifier:
    def __init__(self, bot: CircleBot, messenger: DirectMessenger) -> None:
        self.bot = bot
        self.messenger = messenger

    async def _channel(self, channel_id: int) -> discord.abc.Messageable | None:
        try:
            channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
        except discord.HTTPException as error:
            log.warning("Channel %s unavailable: HTTP %s", channel_id, error.status)
            return None
        return channel if isinstance(channel, discord.abc.Messageable) else None

    async def post_round(self, circle: Circle, round_: Round) -> int | None:
        channel = await self._channel(round_.channel_id)
        if channel is None:
            return None
        try:
            message = await channel.send(
                embed=round_embed(circle, round_),
                view=round_view(round_.id),
                allowed_mentions=NO_PINGS,
            )
        except discord.HTTPException as error:
            log.warning(
                "Could not post round %s in channel %s: HTTP %s",
                round_.id,
                round_.channel_id,
                error.status,
            )
            return None
        return message.id

    async def post_summary(self, circle: Circle, round_: Round, summary: RoundSummary) -> None:
        channel = await self._channel(round_.channel_id)
        if channel is None:
            return
        for embeds in summary_messages(circle, round_, summary):
            try:
                await channel.send(embeds=embeds, allowed_mentions=NO_PINGS)
            except discord.HTTPException as error:
                log.warning("Could not post summary of round %s: HTTP %s", round_.id, error.status)
                return

    async def deliver_to_facilitators(
        self,
        circle: Circle,
        round_: Round,
        answers: Sequence[SharedAnswer],
        facilitator_ids: Sequence[int],
    ) -> None:
        messages = facilitator_messages(circle, round_, answers)
        unreachable: list[int] = []
        for user_id in facilitator_ids:
            delivered = True
            for embeds in messages:
                delivered = await self.messenger.send(
                    user_id, embeds=embeds, allowed_mentions=NO_PINGS
                )
                if not delivered:
                    break
            if not delivered:
                unreachable.append(user_id)
        if unreachable or not facilitator_ids:
            await self._private_thread(circle, round_, messages, unreachable)

    async def _private_thread(
        self,
        circle: Circle,
        round_: Round,
        messages: list[list[discord.Embed]],
        user_ids: list[int],
    ) -> None:
        """For facilitators whose DMs are closed: a private thread only they are added to."""
        channel = await self._channel(round_.channel_id)
        if not isinstance(channel, discord.TextChannel) or not user_ids:
            log.warning(
                "Facilitators-only answers of round %s had no reachable facilitator", round_.id
            )
            return
        try:
            thread = await channel.create_thread(
                name=f"Facilitators — {circle.name}"[:100],
                type=discord.ChannelType.private_thread,
                invitable=False,
            )
            for user_id in user_ids:
                await thread.add_user(discord.Object(user_id))
            for embeds in messages:
                await thread.send(embeds=embeds, allowed_mentions=NO_PINGS)
        except discord.HTTPException as error:
            log.warning(
                "Could not open a facilitators' thread for round %s: HTTP %s",
                round_.id,
                error.status,
            )

    async def remind(self, user_id: int, circle: Circle, round_: Round) -> bool:
        link = (
            f"https://discord.com/channels/{circle.guild_id}/{round_.channel_id}/{round_.message_id}"
            if round_.message_id
            else f"<#{round_.channel_id}>"
        )
        return await self.messenger.send(
            user_id,
            content=(
                f"A gentle reminder: the check-in of **{discord.utils.escape_markdown(circle.name)}** closes "
                f"{ts(round_.closes_at, 'R')}. If you'd like to answer: {link}\n"
                "No pressure. `/checkin reminders off` stops these."
            ),
            allowed_mentions=NO_PINGS,
        )
