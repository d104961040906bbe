"""The Discord side of the talking piece: posting the board and keeping it current.

Changes arrive much faster than Discord lets a channel's messages be edited (about 5 edits
per 5 s per channel). Each gathering has at most one refresher task: a change marks the
board dirty; the task waits for the channel's next edit slot (edits spaced 1.05 s), then
edits the board with the state as it is *then*, and edits again only if
something changed meanwhile. So a burst of 300
presses costs a handful of edits, each showing everything up to it, and no 429s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

import discord

from bot.app import CircleBot
from bot.delivery import TRANSIENT_ERRORS, delivery_failure
from bot.logging_setup import redacted_traceback
from bot.services.outbox import DeliveryFailed
from bot.services.talking_piece import TalkService
from bot.storage.repositories.talking_piece import StoredGathering
from bot.ui.talking_piece import board_message
from cogs.talking_piece._voice import VoiceKeeper

log = logging.getLogger(__name__)

# Discord lets a channel's messages be edited about 5 times per 5 s. Edits of one channel
# are spaced by this much, so any 5.2 s hold at most 5, and a press waits for its edit at
# most about this long (a window of 5 taken at once would make the next wait 5 s).
EDIT_GAP_SECONDS = 1.05


class DiscordTalkBoard:
    def __init__(self, bot: CircleBot, service: TalkService, gap: float = EDIT_GAP_SECONDS) -> None:
        self.bot = bot
        self.service = service
        self.gap = gap
        self._dirty: set[int] = set()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._next_edit: dict[int, float] = {}  # channel id → when its next edit may go
        self.edits = 0  # board edits sent since start (tests, benchmark)
        self.shown: dict[int, int] = {}  # gathering id → the version its board last showed
        self.shown_at: dict[int, float] = {}
        self.voice = VoiceKeeper(bot, service)
        self._stopped = False

    def busy(self, gathering_id: int) -> bool:
        """A change is waiting to be shown, or an edit is under way."""
        task = self._tasks.get(gathering_id)
        return gathering_id in self._dirty or (task is not None and not task.done())

    # -- TalkBoard

    def changed(self, gathering_id: int) -> None:
        if self._stopped:
            return
        self._dirty.add(gathering_id)
        task = self._tasks.get(gathering_id)
        if task is None or task.done():
            self._tasks[gathering_id] = asyncio.get_running_loop().create_task(
                self._refresher(gathering_id), name=f"talk-board-{gathering_id}"
            )

    async def post_board(self, stored: StoredGathering, nonce: str) -> int:
        shown = board_message(stored, self.bot.resources.clock.now())
        channel = self.bot.get_partial_messageable(stored.channel_id, guild_id=stored.guild_id)
        try:
            message = await channel.send(
                shown.content,
                embed=shown.embed,
                view=shown.view,
                allowed_mentions=shown.allowed_mentions,
                nonce=nonce,
            )
        except (discord.HTTPException, *TRANSIENT_ERRORS) as error:
            raise delivery_failure(error) from error
        self.shown[stored.id] = stored.version
        return message.id

    async def show(self, gathering_id: int, version: int) -> None:
        if self.shown.get(gathering_id, -1) >= version:
            return  # the refresher showed it
        stored = await self.service.get(gathering_id)
        if stored is None or stored.message_id is None:
            return  # gone, or its board is still to be posted (as it is then)
        await self._wait_turn(stored.channel_id)
        if self.shown.get(gathering_id, -1) >= version:
            return  # the refresher showed it meanwhile
        try:
            await self._edit(gathering_id)
        except (discord.HTTPException, *TRANSIENT_ERRORS) as error:
            raise delivery_failure(error) from error

    async def missing(self, guild_id: int, member_ids: Sequence[int]) -> set[int]:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return set()
        gone = set()
        for member_id in member_ids:
            try:
                await guild.fetch_member(member_id)
            except discord.NotFound:
                gone.add(member_id)
            except (discord.HTTPException, *TRANSIENT_ERRORS):
                continue  # can't tell now; asked again at the next change
        return gone

    async def lift_mutes(self, guild_id: int) -> None:
        await self.voice.reconcile(guild_id)

    # -- the refresher

    async def _refresher(self, gathering_id: int) -> None:
        while gathering_id in self._dirty and not self._stopped:
            try:
                stored = await self.service.get(gathering_id)
                if stored is None or stored.message_id is None:
                    self._dirty.discard(gathering_id)
                    return  # gone, or its board is still being posted (that refreshes it)
                await self._wait_turn(stored.channel_id)
                self._dirty.discard(gathering_id)
                if stored.gathering.live:
                    await self.service.drop_absent(gathering_id)
                await self._edit(gathering_id)
                if stored.gathering.options.mute_others:  # the new holder speaks, others listen
                    await self.voice.reconcile(stored.guild_id)
            except Exception as error:
                self._dirty.discard(gathering_id)
                if isinstance(error, DeliveryFailed) and error.permanent:
                    log.warning("Board of gathering %s can't be edited: %s", gathering_id, error)
                    return
                log.warning(
                    "Board of gathering %s not refreshed\n%s",
                    gathering_id,
                    redacted_traceback(error),
                )
                return

    async def _wait_turn(self, channel_id: int) -> None:
        """Take the channel's next edit slot (another board there queues after it)."""
        now = time.monotonic()
        at = max(self._next_edit.get(channel_id, now), now)
        self._next_edit[channel_id] = at + self.gap
        if at > now:
            await asyncio.sleep(at - now)

    async def _edit(self, gathering_id: int) -> None:
        stored = await self.service.get(gathering_id)  # the latest: everything up to now
        if stored is None or stored.message_id is None:
            return
        shown = board_message(stored, self.bot.resources.clock.now())
        channel = self.bot.get_partial_messageable(stored.channel_id, guild_id=stored.guild_id)
        try:
            await channel.get_partial_message(stored.message_id).edit(
                content=shown.content,
                embed=shown.embed,
                view=shown.view,
                allowed_mentions=shown.allowed_mentions,
            )
        except (discord.Forbidden, discord.NotFound) as error:
            raise DeliveryFailed(type(error).__name__, permanent=True) from error
        self.edits += 1
        self.shown[gathering_id] = stored.version
        self.shown_at[gathering_id] = time.monotonic()

    async def stop(self) -> None:
        self._stopped = True
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
