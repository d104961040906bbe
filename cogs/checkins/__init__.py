"""Check-in rounds: schedule, open, answer (button → modal), close with a summary, history."""

from __future__ import annotations

from bot.app import CircleBot
from bot.dm import DirectMessenger
from bot.ui.checkins import CheckInButton, CheckInModal
from cogs.checkins._cog import Checkins
from cogs.checkins._facilitate import CheckinFacilitation
from cogs.checkins._notifier import DiscordCheckinNotifier


async def setup(bot: CircleBot) -> None:
    resources = bot.resources
    messenger = DirectMessenger(
        bot, resources.db, resources.clock, bot.dm_min_gap, metrics=resources.metrics
    )
    bot.resources.services.checkins.notifier = DiscordCheckinNotifier(bot, messenger)
    bot.add_dynamic_items(CheckInButton)
    bot.forms.add(CheckInModal)
    await bot.add_cog(Checkins(bot, messenger))
    CheckinFacilitation.attach(bot)
