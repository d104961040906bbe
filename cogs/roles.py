"""Rotating roles, the Discord side: the cycle's post, each holder's DM, Swap/Skip notes.

The commands live with the circle commands (`/circle volunteer`, `/facilitate circle
roles`); this extension registers the persistent buttons, the prompt form and the notifier.
"""

from __future__ import annotations

import discord
from discord import app_commands

from bot.app import CircleBot
from bot.delivery import TRANSIENT_ERRORS, delivery_failure
from bot.dm import DirectMessenger
from bot.domain.circles import Circle
from bot.domain.roles import ROLES
from bot.services.outbox import DeliveryFailed
from bot.storage.repositories.roles import Cycle, Holder
from bot.ui.roles import (
    HandOnButton,
    NextPromptForm,
    SetPromptButton,
    change_text,
    cycle_embed,
    cycle_view,
    holder_message,
    holder_view,
)

NO_PINGS = discord.AllowedMentions.none()
# A role as typed: checked by the service, so an unknown role gets a refusal with an example.
RoleName = app_commands.Range[str, 1, 40]


async def role_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    typed = current.casefold()
    return [
        app_commands.Choice(name=f"{r.title}: {r.duty}", value=r.key)
        for r in ROLES
        if typed in r.key or typed in r.duty
    ]


SEND_ERRORS = (discord.HTTPException, *TRANSIENT_ERRORS)


class DiscordRolesNotifier:
    def __init__(self, bot: CircleBot, messenger: DirectMessenger) -> None:
        self.bot = bot
        self.messenger = messenger

    async def _send(self, channel_id: int, **message: object) -> None:
        try:
            channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
            if not isinstance(channel, discord.abc.Messageable):
                raise DeliveryFailed(f"channel type {type(channel).__name__}", permanent=True)
            await channel.send(allowed_mentions=NO_PINGS, **message)  # type: ignore[call-overload]
        except SEND_ERRORS as error:
            raise delivery_failure(error) from error

    async def post_cycle(
        self, circle: Circle, cycle: Cycle, holders: dict[str, Holder], nonce: str
    ) -> None:
        await self._send(
            circle.channel_id,
            embed=cycle_embed(circle, cycle, holders),
            view=cycle_view(cycle.id, holders),
            nonce=nonce,
        )

    async def tell_holder(
        self, user_id: int, circle: Circle, cycle: Cycle, role: str, nonce: str
    ) -> bool:
        return await self.messenger.send(
            user_id,
            content=holder_message(circle, role),
            view=holder_view(cycle.id, role),
            allowed_mentions=NO_PINGS,
            nonce=nonce,
        )

    async def post_change(
        self,
        circle: Circle,
        role: str,
        from_id: int,
        to_id: int | None,
        action: str,
        nonce: str,
    ) -> None:
        await self._send(
            circle.channel_id, content=change_text(role, from_id, to_id, action), nonce=nonce
        )


async def setup(bot: CircleBot) -> None:
    resources = bot.resources
    messenger = DirectMessenger(
        bot, resources.db, resources.clock, bot.dm_min_gap, metrics=resources.metrics
    )
    resources.services.roles.notifier = DiscordRolesNotifier(bot, messenger)
    bot.add_dynamic_items(HandOnButton, SetPromptButton)
    bot.forms.add(NextPromptForm)
