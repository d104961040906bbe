"""The Discord side of buddy pairing: presence, introductions, threads, follow-ups.

Called by the outbox worker: messages carry a nonce stable across retries and each step
is recorded, so a restart sends nothing twice (see `bot.services.outbox`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import discord

from bot.app import CircleBot
from bot.delivery import TRANSIENT_ERRORS, delivery_failure
from bot.dm import DirectMessenger
from bot.domain.buddies import Cycle
from bot.domain.circles import Circle
from bot.services.outbox import DeliveryRun
from bot.storage.repositories.buddies import Placement
from bot.threads import private_thread
from bot.ui.buddies import (
    answer_view,
    buddy_left_text,
    follow_up_text,
    intro_text,
    paused_text,
    thread_text,
)

ERRORS = (discord.HTTPException, *TRANSIENT_ERRORS)
PRESENCE_GAP_SECONDS = 1 / 40
NO_PINGS = discord.AllowedMentions.none()


class DiscordBuddyNotifier:
    def __init__(self, bot: CircleBot, messenger: DirectMessenger) -> None:
        self.bot = bot
        self.messenger = messenger

    async def present(self, guild_id: int, user_ids: Sequence[int]) -> list[int]:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return []
        found = []
        for index, user_id in enumerate(user_ids):
            if index:  # one look-up each: paced under Discord's global limit (50/s)
                await asyncio.sleep(PRESENCE_GAP_SECONDS)
            try:
                await guild.fetch_member(user_id)
            except discord.NotFound:
                continue  # left the server
            except ERRORS as error:
                raise delivery_failure(error) from error
            found.append(user_id)
        return found

    async def _dm(self, run: DeliveryRun, user_id: int, step: str, **message: object) -> bool:
        if run.done(step):
            return bool(run.result(step))
        sent = await self.messenger.send(
            user_id, allowed_mentions=NO_PINGS, nonce=run.nonce(step), **message
        )
        await run.record(step, sent)
        return sent

    async def introduce(
        self, run: DeliveryRun, circle: Circle, placement: Placement, question: str
    ) -> bool:
        content = intro_text(circle, placement.mates, placement.cycle.ends_at, question)
        if not placement.mates:
            return await self._dm(run, placement.user_id, "intro", content=content)
        return await self._dm(
            run, placement.user_id, "intro", content=content, view=answer_view(placement.cycle.id)
        )

    async def group_thread(
        self, run: DeliveryRun, circle: Circle, cycle: Cycle, members: Sequence[int], question: str
    ) -> None:
        thread = await private_thread(
            self.bot, run, circle.channel_id, f"Buddies — {circle.name}", members
        )
        if not run.done("message"):
            try:
                await thread.send(
                    thread_text(circle, members, question),
                    view=answer_view(cycle.id),
                    allowed_mentions=NO_PINGS,
                    nonce=run.nonce("message"),
                )
            except ERRORS as error:
                raise delivery_failure(error) from error
            await run.record("message")

    async def follow_up(
        self,
        run: DeliveryRun,
        circle: Circle,
        placement: Placement,
        again: bool,
        mates_here: Sequence[int],
    ) -> bool:
        if not mates_here:
            return await self._dm(run, placement.user_id, "follow", content=buddy_left_text(circle))
        return await self._dm(
            run,
            placement.user_id,
            "follow",
            content=follow_up_text(circle, placement.mates, again),
            view=answer_view(placement.cycle.id),
        )

    async def tell_paused(self, run: DeliveryRun, circle: Circle, user_id: int) -> bool:
        return await self._dm(run, user_id, "paused", content=paused_text(circle))
