"""Help requests, capacity and gratitude: /ask, /capacity, /thanks, /ledger, /facilitate help."""

from __future__ import annotations

from bot.app import CircleBot
from bot.dm import DirectMessenger
from bot.ui.help_requests import DYNAMIC_ITEMS, FORMS
from cogs.help_requests._cog import HelpRequests
from cogs.help_requests._facilitate import HelpFacilitation
from cogs.help_requests._notifier import DiscordHelpNotifier


async def setup(bot: CircleBot) -> None:
    resources = bot.resources
    messenger = DirectMessenger(
        bot, resources.db, resources.clock, bot.dm_min_gap, metrics=resources.metrics
    )
    resources.services.help.notifier = DiscordHelpNotifier(bot, messenger)
    bot.add_dynamic_items(*DYNAMIC_ITEMS)
    for form in FORMS:
        bot.forms.add(form)
    await bot.add_cog(HelpRequests(bot))
    HelpFacilitation.attach(bot)
