"""`/facilitate talk start`: a live gathering with the talking piece. Its controls then live
on the board (the Facilitator button), checked at run time."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

import discord
from discord import app_commands

from bot.domain import talking_piece as tp
from bot.errors import ValidationError
from bot.services.outbox import Outcome
from cogs.circle_options import CIRCLE_HELP, CircleName, circle_autocomplete, resolve_circle
from cogs.facilitate import FacilitatorGroup

POST_WAIT_SECONDS = 10.0
WORD = app_commands.Range[str, 1, 20]

CHOICES: dict[str, tuple[str, ...]] = {
    "mode": tuple(m.value for m in tp.Mode),
    "order": tuple(o.value for o in tp.Order),
    "when_time_is_up": tuple(o.value for o in tp.OnTimeout),
    "then": ("end", "floor"),
}


Suggest = Callable[[discord.Interaction, str], Coroutine[Any, Any, list[app_commands.Choice[str]]]]


def _suggest(option: str) -> Suggest:
    async def suggest(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.strip().lower()
        return [
            app_commands.Choice(name=v, value=v) for v in CHOICES[option] if v.startswith(typed)
        ]

    return suggest


class TalkFacilitation(FacilitatorGroup, name="talk", description="The talking piece."):
    @app_commands.command(
        name="start", description="Start a live gathering with the talking piece here."
    )
    @app_commands.describe(
        circle=CIRCLE_HELP,
        mode="round (everyone in turn, the default) or stack (raise a hand to speak)",
        minutes="Each share's length, e.g. 3 (default: untimed)",
        order="join (default), shuffled, alphabetical, or members (seat the circle at once)",
        when_time_is_up="next (the piece moves on, the default) or wait (for the facilitator)",
        then="After a round: end (default) or floor (an open floor for raised hands)",
        progressive="On the open floor, those not yet heard speak first",
        gather_minutes="Begin by itself after this many minutes (default: when you press Begin)",
        mute_others="In a voice channel's chat: server-mute everyone but the holder",
    )
    @app_commands.autocomplete(
        circle=circle_autocomplete,
        mode=_suggest("mode"),
        order=_suggest("order"),
        when_time_is_up=_suggest("when_time_is_up"),
        then=_suggest("then"),
    )
    async def start(
        self,
        interaction: discord.Interaction,
        circle: CircleName | None = None,
        mode: WORD | None = None,
        minutes: WORD | None = None,
        order: WORD | None = None,
        when_time_is_up: WORD | None = None,
        then: WORD | None = None,
        progressive: bool = False,
        gather_minutes: WORD | None = None,
        mute_others: bool = False,
    ) -> None:
        options = tp.parse_options(
            mode,
            minutes,
            order,
            on_timeout=when_time_is_up,
            then=then,
            progressive=progressive,
            gather_minutes=gather_minutes,
        )
        found = await resolve_circle(interaction, circle)
        channel = interaction.channel
        if (
            not isinstance(channel, discord.VoiceChannel)
            and interaction.channel_id != found.channel_id
        ):
            raise ValidationError(
                f"Start a gathering of “{found.name}” in its channel <#{found.channel_id}>, or in "
                "the text chat of a voice channel.",
                f"/facilitate talk start circle:{found.name} (in <#{found.channel_id}>)",
            )
        muting_note = ""
        if mute_others:
            if not isinstance(channel, discord.VoiceChannel):
                raise ValidationError(
                    "mute_others works in the text chat of a voice channel: start there.",
                    "/facilitate talk start mute_others:true (in a voice channel's chat)",
                )
            if not interaction.app_permissions.mute_members:
                muting_note = (
                    "\nI don't have **Mute Members** here, so this round runs without muting. "
                    "To use mute_others, give my role Mute Members (Server Settings → Roles)."
                )
            else:
                options = replace(options, mute_others=True)
        await interaction.response.defer(ephemeral=True, thinking=True)
        resources = self.bot.resources
        await resources.services.circles.note_facilitator(found, interaction.user.id)
        assert interaction.channel_id is not None
        started = await resources.services.talk.start(
            found, interaction.channel_id, interaction.user.id, options
        )
        outcome = Outcome.DELIVERED
        if started.board_delivery is not None:
            outcome = await resources.services.outbox.wait(
                started.board_delivery, POST_WAIT_SECONDS
            )
        if outcome is Outcome.DELIVERED:
            text = (
                "The board is up. Members press **Join** to take a seat; press **Begin** on the "
                "board when everyone is there. Your controls are behind its **Facilitator** button."
            )
        elif outcome is Outcome.PENDING:
            text = "The gathering is started; its board is still on its way (Discord is slow)."
        else:
            text = (
                "The gathering is started, but I couldn't post its board here. Check that I can "
                "send messages and embed links in this channel."
            )
        await interaction.followup.send(text + muting_note, ephemeral=True)
