"""The Discord side of check-in rounds: prompts, summaries and private deliveries.

Called by the outbox worker (see `bot.services.outbox`): each message carries a nonce that
is stable across retries, each finished step is recorded, and a failure raises
`DeliveryFailed` so the delivery is retried or, when Discord refuses for good, given up
with a log line (ids only).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import discord

from bot.app import CircleBot
from bot.checks import facilitators_now
from bot.delivery import TRANSIENT_ERRORS, delivery_failure
from bot.dm import DirectMessenger
from bot.domain.checkins import RoundSummary, SharedAnswer
from bot.domain.circles import Circle, Round
from bot.services.outbox import DeliveryFailed, DeliveryRun
from bot.threads import private_thread
from bot.ui.checkins import facilitator_messages, round_embed, round_view, summary_messages
from bot.ui.timestamps import ts

log = logging.getLogger(__name__)

NO_PINGS = discord.AllowedMentions.none()
SEND_ERRORS = (discord.HTTPException, *TRANSIENT_ERRORS)


class DiscordCheckinNotifier:
    def __init__(self, bot: CircleBot, messenger: DirectMessenger) -> None:
        self.bot = bot
        self.messenger = messenger

    async def _channel(self, channel_id: int) -> discord.abc.Messageable:
        try:
            channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
        except SEND_ERRORS as error:
            raise delivery_failure(error) from error
        if not isinstance(channel, discord.abc.Messageable):
            raise DeliveryFailed(f"channel type {type(channel).__name__}", permanent=True)
        return channel

    async def post_round(self, circle: Circle, round_: Round, nonce: str) -> int:
        channel = await self._channel(round_.channel_id)
        try:
            message = await channel.send(
                embed=round_embed(circle, round_),
                view=round_view(round_.id),
                allowed_mentions=NO_PINGS,
                nonce=nonce,
            )
        except SEND_ERRORS as error:
            raise delivery_failure(error) from error
        return message.id

    async def post_summary(
        self, circle: Circle, round_: Round, summary: RoundSummary, run: DeliveryRun
    ) -> None:
        channel = await self._channel(round_.channel_id)
        for index, embeds in enumerate(summary_messages(circle, round_, summary)):
            await self._send_step(channel, run, f"summary.{index}", embeds)

    async def _send_step(
        self,
        channel: discord.abc.Messageable,
        run: DeliveryRun,
        step: str,
        embeds: list[discord.Embed],
    ) -> None:
        if run.done(step):
            return
        try:
            message = await channel.send(
                embeds=embeds, allowed_mentions=NO_PINGS, nonce=run.nonce(step)
            )
        except SEND_ERRORS as error:
            raise delivery_failure(error) from error
        await run.record(step, message.id)

    async def facilitators_now(self, guild_id: int, user_ids: Sequence[int]) -> list[int]:
        return await facilitators_now(self.bot, guild_id, user_ids)

    async def deliver_to_facilitators(
        self,
        circle: Circle,
        round_: Round,
        answers: Sequence[SharedAnswer],
        facilitator_ids: Sequence[int],
        run: DeliveryRun,
    ) -> None:
        messages = facilitator_messages(circle, round_, answers)
        unreachable: list[int] = []
        for user_id in facilitator_ids:
            if not await self._dm_all(user_id, messages, run):
                unreachable.append(user_id)
        if unreachable:
            await self._private_thread(circle, round_, messages, unreachable, run)
        elif not facilitator_ids:
            log.warning(
                "Facilitators-only answers of round %s: no current facilitator to receive them",
                round_.id,
            )

    async def _dm_all(
        self, user_id: int, messages: list[list[discord.Embed]], run: DeliveryRun
    ) -> bool:
        """DM every part; False (and remembered) when this facilitator's DMs are closed."""
        if run.result(f"dm.{user_id}") is False:
            return False
        for index, embeds in enumerate(messages):
            step = f"dm.{user_id}.{index}"
            if run.done(step):
                continue
            sent = await self.messenger.send(
                user_id, embeds=embeds, allowed_mentions=NO_PINGS, nonce=run.nonce(step)
            )
            if not sent:
                await run.record(f"dm.{user_id}", False)
                return False
            await run.record(step)
        return True

    async def _private_thread(
        self,
        circle: Circle,
        round_: Round,
        messages: list[list[discord.Embed]],
        user_ids: list[int],
        run: DeliveryRun,
    ) -> None:
        """For facilitators whose DMs are closed: a private thread only they are added to."""
        found = await private_thread(
            self.bot,
            run,
            round_.channel_id,
            f"Facilitators — {circle.name}",
            user_ids,
            add_step="thread.add",
        )
        for index, embeds in enumerate(messages):
            await self._send_step(found, run, f"thread.{index}", embeds)

    async def remind(self, user_id: int, circle: Circle, round_: Round, nonce: str) -> bool:
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
            nonce=nonce,
        )
