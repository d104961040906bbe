"""Circles: `/circle join | leave | info` for members; `/facilitate circle …` to create
them, edit agreements and choose who facilitates."""

from __future__ import annotations

from bot.app import CircleBot
from bot.ui.circles import AgreementModal, JoinButton
from cogs.circles._cog import Circles
from cogs.circles._facilitate import CircleFacilitation


async def setup(bot: CircleBot) -> None:
    bot.add_dynamic_items(JoinButton)
    bot.forms.add(AgreementModal)
    await bot.add_cog(Circles(bot))
    CircleFacilitation.attach(bot)
