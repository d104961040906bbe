"""The `/facilitate` group and the base class of the subgroups features attach to it."""

from __future__ import annotations

from typing import Self

import discord
from discord import app_commands

from bot.app import CircleBot
from bot.checks import require_facilitator

NAME = "facilitate"


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Facilitate(
    app_commands.Group,
    name=NAME,
    description="Facilitator tools: circles, check-in rounds, crisis settings.",
):
    """The top-level command; its subgroups come from the features."""


class FacilitatorGroup(app_commands.Group):
    """A feature's subgroup under `/facilitate`. Every command in it runs only for
    facilitators: Manage Server, or the server's facilitator role."""

    def __init__(self, bot: CircleBot, parent: app_commands.Group) -> None:
        super().__init__(parent=parent)
        self.bot = bot

    @classmethod
    def attach(cls, bot: CircleBot) -> Self:
        """Create this subgroup for ``bot`` under its `/facilitate`."""
        return cls(bot, facilitate_group(bot))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await require_facilitator(interaction)


def facilitate_group(bot: CircleBot) -> app_commands.Group:
    group = bot.tree.get_command(NAME)
    if not isinstance(group, app_commands.Group):
        raise RuntimeError("load cogs.facilitate before the extensions that attach to /facilitate")
    return group
