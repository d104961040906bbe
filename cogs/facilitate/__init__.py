"""`/facilitate …`: every facilitator-only command, under one top-level command.

Discord applies `default_member_permissions` to whole top-level commands only, so the
facilitator commands cannot share a group with member commands (`/circle join`) and
still be hidden. `/facilitate` is hidden from members (Manage Server) and a server admin
can grant it to a facilitator role under Server Settings → Integrations; because servers
can override what Discord hides, every command under it also passes the run-time check
(`FacilitatorGroup.interaction_check`).

Each feature keeps its handlers in its own package and attaches one subgroup, a
`FacilitatorGroup` subclass (discord.py's documented way to write a group as a class;
`parent=` nests it), from its extension's `setup`:

    class CircleFacilitation(FacilitatorGroup, name="circle", description="..."):
        @app_commands.command(name="create", description="...")
        async def create(self, interaction: discord.Interaction, name: str) -> None:
            ...  # self.bot is the CircleBot

    async def setup(bot: CircleBot) -> None:
        CircleFacilitation.attach(bot)

This extension loads before the features (`bot.app.EXTENSIONS`). The top-level group is
created per bot, never at import time: tests start many bots in one process.
"""

from __future__ import annotations

from bot.app import CircleBot
from cogs.facilitate._group import NAME, Facilitate, FacilitatorGroup, facilitate_group

__all__ = ["Facilitate", "FacilitatorGroup", "facilitate_group"]


async def setup(bot: CircleBot) -> None:
    bot.tree.add_command(Facilitate())


async def teardown(bot: CircleBot) -> None:
    bot.tree.remove_command(NAME)
