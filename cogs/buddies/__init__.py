"""Buddy pairing: opt in, private avoid lists, cycles, DM introductions and a follow-up."""

from __future__ import annotations

from bot.app import CircleBot
from bot.dm import DirectMessenger
from bot.ui.buddies import BuddyAnswerButton
from cogs.buddies._cog import Buddies
from cogs.buddies._facilitate import BuddyFacilitation
from cogs.buddies._notifier import DiscordBuddyNotifier


async def setup(bot: CircleBot) -> None:
    resources = bot.resources
    messenger = DirectMessenger(
        bot, resources.db, resources.clock, bot.dm_min_gap, metrics=resources.metrics
    )
    resources.services.buddies.notifier = DiscordBuddyNotifier(bot, messenger)
    bot.add_dynamic_items(BuddyAnswerButton)
    await bot.add_cog(Buddies(bot))
    BuddyFacilitation.attach(bot)
