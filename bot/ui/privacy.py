"""The privacy policy and the erase confirmation, rendered."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord

from bot.services.privacy import GUILD_DATA_GRACE
from bot.storage.member_data import MEMBER_TABLES
from bot.ui.base import SafeView


def policy_embed() -> discord.Embed:
    stored = "\n".join(f"• {entry.purpose}" for entry in MEMBER_TABLES)
    embed = discord.Embed(title="Circlekeeper and your data", colour=discord.Colour.blurple())
    embed.description = (
        "Circlekeeper keeps only what its features need, and nothing leaves this bot: "
        "no analytics, no third parties, and logs hold ids, never what you wrote."
    )
    embed.add_field(name="What is stored, and why", value=stored[:1024], inline=False)
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


class ConfirmErase(SafeView):
    """Asks once before erasing; only the member who asked can press it."""

    def __init__(self, user_id: int, erase: Callable[[], Awaitable[int]]) -> None:
        super().__init__(timeout=180)
        self.user_id = user_id
        self._erase = erase

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.user_id:
            await interaction.response.send_message(
                "This button belongs to someone else's request. Use `/privacy delete` for your own data.",
                ephemeral=True,
            )
            return False
        return True

    @discord.ui.button(label="Erase everything", style=discord.ButtonStyle.danger)
    async def confirm(
        self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmErase]
    ) -> None:
        self.stop()
        # Take the buttons away at once (no second press), then edit in the outcome.
        await interaction.response.edit_message(
            content="Erasing everything stored about you…", view=None
        )
        try:
            count = await self._erase()
        except Exception:
            # One transaction: it rolled back whole, so this is the truth.
            await interaction.edit_original_response(
                content="Nothing was erased: something went wrong on our side. "
                "Please try `/privacy delete` again in a moment."
            )
            raise
        await interaction.edit_original_response(
            content=f"Done. Erased {count} record(s) about you, in every server. Nothing about you remains stored.",
            view=None,
        )

    @discord.ui.button(label="Keep my data", style=discord.ButtonStyle.secondary)
    async def cancel(
        self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmErase]
    ) -> None:
        self.stop()
        await interaction.response.edit_message(content="Nothing was erased.", view=None)
