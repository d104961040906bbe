"""The privacy policy and the erase confirmation, rendered."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.services.privacy import GUILD_DATA_GRACE
from bot.storage.member_data import MEMBER_TABLES
from bot.tree import answer_error

if TYPE_CHECKING:
    from bot.app import CircleBot


FIELD_MAX = 1024  # an embed field's value, Discord's limit


def stored_parts() -> list[str]:
    """Every registered purpose as a bullet, in as many fields as they need (never clipped)."""
    parts: list[str] = []
    for entry in MEMBER_TABLES:
        line = f"• {entry.purpose}"
        if parts and len(parts[-1]) + 1 + len(line) <= FIELD_MAX:
            parts[-1] += "\n" + line
        else:
            parts.append(line[:FIELD_MAX])
    return parts


def policy_embed() -> discord.Embed:
    embed = discord.Embed(title="Circlekeeper and your data", colour=discord.Colour.blurple())
    embed.description = (
        "Circlekeeper keeps only what its features need, and nothing leaves this bot: "
        "no analytics, no third parties, and logs hold ids, never what you wrote."
    )
    for index, part in enumerate(stored_parts()):
        name = "What is stored, and why" if index == 0 else "What is stored (continued)"
        embed.add_field(name=name, value=part, inline=False)
    embed.add_field(
        name="How it is protected",
        value=(
            "Everything you write (check-in notes, help requests, plans) is encrypted at rest. "
            "Who sees a check-in is your choice each time: the circle, facilitators only, or just you."
        ),
        inline=False,
    )
    embed.add_field(
        name="How long",
        value=(
            "Until you erase it, or leave a circle and erase it. When a server removes Circlekeeper, "
            f"that server's data is erased {GUILD_DATA_GRACE.days} days later "
            "(re-inviting the bot before then keeps it)."
        ),
        inline=False,
    )
    embed.add_field(
        name="Your rights",
        value=(
            "`/privacy export`: a file of everything stored about you, across all servers.\n"
            "`/privacy delete`: erase all of it, at once, after one confirmation."
        ),
        inline=False,
    )
    embed.set_footer(
        text="Circlekeeper is peer support, not a crisis service. /crisis shows lines open now."
    )
    return embed


class EraseChoice(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"privacy-(?P<action>erase|keep):(?P<user_id>\d+)",
):
    """ "Erase everything" or "Keep my data": persistent, so the question outlives a restart,
    and only the member who asked can answer it (their id travels in the custom_id)."""

    def __init__(self, action: str, user_id: int) -> None:
        erase = action == "erase"
        super().__init__(
            discord.ui.Button(
                label="Erase everything" if erase else "Keep my data",
                style=discord.ButtonStyle.danger if erase else discord.ButtonStyle.secondary,
                custom_id=f"privacy-{action}:{user_id}",
            )
        )
        self.action, self.user_id = action, user_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> EraseChoice:
        return cls(match["action"], int(match["user_id"]))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.user_id:
            await interaction.response.send_message(
                "This button belongs to someone else's request. Use `/privacy delete` for your own data.",
                ephemeral=True,
            )
            return False
        return True

    async def callback(self, interaction: discord.Interaction) -> None:
        if self.action == "keep":
            await interaction.response.edit_message(content="Nothing was erased.", view=None)
            return
        bot: CircleBot = interaction.client  # type: ignore[assignment]
        # Take the buttons away at once (no second press), then edit in the outcome.
        await interaction.response.edit_message(
            content="Erasing everything stored about you…", view=None
        )
        privacy = bot.resources.services.privacy
        try:
            count = await privacy.delete(self.user_id)
        except Exception as error:
            # One transaction: it rolled back whole, so this is the truth.
            await interaction.edit_original_response(
                content="Nothing was erased: something went wrong on our side. "
                "Please try `/privacy delete` again in a moment."
            )
            await answer_error(interaction, error)  # logged, and a private word
            return
        kept = await privacy.kept(self.user_id)  # what the bot still owes them, if anything
        rest = (
            f"Kept until it is done: {'; '.join(kept)}."
            if kept
            else "Nothing about you remains stored."
        )
        await interaction.edit_original_response(
            content=f"Done. Erased {count} record(s) about you, in every server. {rest}",
            view=None,
        )


def confirm_erase_view(user_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(EraseChoice("erase", user_id))
    view.add_item(EraseChoice("keep", user_id))
    return view
