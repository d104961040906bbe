"""Who may do what, enforced at run time.

Facilitator commands live under `/facilitate`, which Discord hides from members
(`default_permissions(manage_guild=True)`); servers can override what Discord hides
(Integrations settings), so the check here is what actually decides: Manage Server, or
the role set with `/facilitate circle facilitator-role`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.delivery import TRANSIENT_ERRORS, delivery_failure

if TYPE_CHECKING:
    from bot.app import CircleBot

FACILITATOR_REFUSAL = (
    "Only facilitators can do that: members with Manage Server, or the role a server admin set "
    "with `/facilitate circle facilitator-role`. Ask one of them."
)


class Refused(app_commands.CheckFailure):
    """A failed check that carries the member-facing explanation."""

    def __init__(self, message: str, example: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.example = example

    def render(self) -> str:
        return f"{self.message}\nFor example: {self.example}" if self.example else self.message


def _bot(interaction: discord.Interaction) -> CircleBot:
    return interaction.client  # type: ignore[return-value]


async def is_facilitator(interaction: discord.Interaction) -> bool:
    member = interaction.user
    if interaction.guild_id is None or not isinstance(member, discord.Member):
        return False
    circles = _bot(interaction).resources.services.circles
    return await circles.is_facilitator(
        interaction.guild_id,
        member.guild_permissions.manage_guild,
        [role.id for role in member.roles],
    )


async def require_facilitator(interaction: discord.Interaction) -> bool:
    """True for a facilitator; otherwise raises the refusal the member sees."""
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    if not await is_facilitator(interaction):
        raise Refused(FACILITATOR_REFUSAL)
    return True


def manage_server_only() -> Any:
    async def predicate(interaction: discord.Interaction) -> bool:
        member = interaction.user
        if not isinstance(member, discord.Member) or not member.guild_permissions.manage_guild:
            raise Refused("Only members with Manage Server can do that. Ask a server admin.")
        return True

    return app_commands.check(predicate)


async def facilitators_now(bot: CircleBot, guild_id: int, user_ids: Sequence[int]) -> list[int]:
    """Those of `user_ids` who facilitate the server right now, asked of Discord.

    One `GET /guilds/{guild}/members/{user}` each (no privileged intent needed): a member who
    left the server, or lost Manage Server and the facilitator role, is left out.
    """
    guild = bot.get_guild(guild_id)
    if guild is None:
        return []
    circles = bot.resources.services.circles
    current = []
    for user_id in user_ids:
        try:
            member = await guild.fetch_member(user_id)
        except discord.NotFound:
            continue
        except (discord.HTTPException, *TRANSIENT_ERRORS) as error:
            raise delivery_failure(error) from error
        roles = [role.id for role in member.roles]
        if await circles.is_facilitator(guild_id, member.guild_permissions.manage_guild, roles):
            current.append(user_id)
    return current
