"""The talking piece: live gatherings with a board of persistent buttons (`bot.ui.talking_piece`),
started with `/facilitate talk start`; the board kept current by `DiscordTalkBoard`."""

from __future__ import annotations

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
        for gathering_id in await self.bot.resources.services.talk.live_ids():
            self.board.changed(gathering_id)

    async def cog_unload(self) -> None:
        await self.board.stop()


async def setup(bot: CircleBot) -> None:
    service = bot.resources.services.talk
    board = DiscordTalkBoard(bot, service)
    service.board = board
    bot.add_dynamic_items(TalkButton, PanelButton, MoveSelect, HandOverSelect)
    await bot.add_cog(TalkingPiece(bot, board))
    TalkFacilitation.attach(bot)
