"""The talking piece: live gatherings with a board of persistent buttons (`bot.ui.talking_piece`),
started with `/facilitate talk start`; the board kept current by `DiscordTalkBoard`."""

from __future__ import annotations

import discord
from discord.ext import commands

from bot.app import CircleBot
from bot.ui.talking_piece import HandOverSelect, MoveSelect, PanelButton, TalkButton
from cogs.talking_piece._board import DiscordTalkBoard
from cogs.talking_piece._facilitate import TalkFacilitation


class TalkingPiece(commands.Cog):
    def __init__(self, bot: CircleBot, board: DiscordTalkBoard) -> None:
        self.bot = bot
        self.board = board

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """After a (re)start: every live board is shown as stored, and a holder who left is
        dropped. Its timers were rebuilt by the scheduler (one that passed applies once)."""
        service = self.bot.resources.services.talk
        for gathering_id in await service.live_ids():
            self.board.changed(gathering_id)
        for guild_id in await service.guilds_with_mutes():  # e.g. a gathering ended meanwhile
            await self.board.voice.reconcile(guild_id)

    @commands.Cog.listener()
    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        """Someone joined, left or moved: mute a newcomer to a muting gathering's channel,
        lift a mute of ours that is no longer wanted (a member back in voice after leaving)."""
        if member.bot:
            return
        await self.board.voice.reconcile(member.guild.id)

    async def cog_unload(self) -> None:
        await self.board.stop()


async def setup(bot: CircleBot) -> None:
    service = bot.resources.services.talk
    board = DiscordTalkBoard(bot, service)
    service.board = board
    bot.resources.services.privacy.on_erase("talking piece", service.erase_member)
    bot.add_dynamic_items(TalkButton, PanelButton, MoveSelect, HandOverSelect)
    await bot.add_cog(TalkingPiece(bot, board))
    TalkFacilitation.attach(bot)
