"""Circles: create, join with an agreement, leave, info; who facilitates."""

from __future__ import annotations

from bot.app import CircleBot
from bot.ui.circles import JoinButton
from cogs.circles._cog import Circles


async def setup(bot: CircleBot) -> None:
    bot.add_dynamic_items(JoinButton)
    await bot.add_cog(Circles(bot))
