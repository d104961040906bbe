"""Circles rendered: the agreement with its persistent I agree button, info, the agreement editor."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from bot.domain.circles import AGREEMENT_MAX, Circle
from bot.forms import FormValues, StatelessForm
from bot.replies import reply_ephemeral, within_deadline
from bot.services.circles import CircleInfo
from bot.ui.crisis import ALERTS_NOTE
from bot.ui.packing import clip
from bot.ui.timestamps import ts

if TYPE_CHECKING:
    from bot.app import CircleBot

CIRCLE_COLOUR = discord.Colour(0x8C6BB1)


def agreement_embed(circle: Circle, *, alerts_enabled: bool) -> discord.Embed:
    text = circle.agreement_text + (f"\n\n{ALERTS_NOTE}" if alerts_enabled else "")
    embed = discord.Embed(
        title=f"The agreement of “{circle.name}”",
        description=clip(text, 4000),
        colour=CIRCLE_COLOUR,
    )
    embed.set_footer(text="Press I agree to join. You can leave any time with /circle leave.")
    return embed


class JoinButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"circle-join:(?P<circle_id>\d+)"
):
    def __init__(self, circle_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="I agree",
                style=discord.ButtonStyle.success,
                custom_id=f"circle-join:{circle_id}",
            )
        )
        self.circle_id = circle_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> JoinButton:
        return cls(int(match["circle_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        from bot.tree import answer_error

        bot: CircleBot = interaction.client  # type: ignore[assignment]
        try:
            circle, added = await within_deadline(
                interaction,
                bot.resources.services.circles.join(self.circle_id, interaction.user.id),
            )
        except Exception as error:
            await answer_error(interaction, error)
            return
        text = (
            f"Welcome to **{discord.utils.escape_markdown(circle.name)}**. Check-ins are posted in <#{circle.channel_id}>."
            if added
            else f"You are already a member of **{discord.utils.escape_markdown(circle.name)}**."
        )
        await reply_ephemeral(interaction, text)


def join_view(circle_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(JoinButton(circle_id))
    return view


def info_embed(info: CircleInfo) -> discord.Embed:
    circle = info.circle
    embed = discord.Embed(title=circle.name, colour=CIRCLE_COLOUR)
    embed.add_field(name="Channel", value=f"<#{circle.channel_id}>")
    embed.add_field(name="Members", value=str(info.member_count))
    embed.add_field(
        name="You", value="a member" if info.is_member else "not a member yet (`/circle join`)"
    )
    if circle.schedule is not None:
        schedule = circle.schedule.describe()
        if info.next_round_at is not None:
            schedule += f"\nNext round: {ts(info.next_round_at)} ({ts(info.next_round_at, 'R')})"
    else:
        schedule = "No schedule: facilitators open rounds with `/facilitate checkin now`."
    embed.add_field(name="Check-in schedule", value=schedule, inline=False)
    if info.open_round is not None:
        embed.add_field(
            name="Open now",
            value=f"A round is open until {ts(info.open_round.closes_at)}.",
            inline=False,
        )
    embed.add_field(name="Agreement", value=clip(circle.agreement_text, 1024), inline=False)
    return embed


class AgreementModal(StatelessForm):
    """A circle's agreement, edited by a facilitator; the circle travels in the custom_id."""

    template = re.compile(r"agreement:(?P<circle_id>\d+)")

    def __init__(self, circle: Circle) -> None:
        super().__init__(
            title=clip(f"Agreement — {circle.name}", 45), custom_id=f"agreement:{circle.id}"
        )
        self.add_item(
            discord.ui.Label(
                text="Agreement",
                description="Confidentiality, attendance, disagreements, when to refer to professional help",
                component=discord.ui.TextInput(
                    custom_id="agreement",
                    style=discord.TextStyle.paragraph,
                    default=circle.agreement_text[:AGREEMENT_MAX],
                    max_length=AGREEMENT_MAX,
                ),
            )
        )

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], values: FormValues
    ) -> None:
        from bot.checks import require_facilitator

        bot: CircleBot = interaction.client  # type: ignore[assignment]
        await require_facilitator(interaction)  # the role may have gone while the form was open
        circles = bot.resources.services.circles
        circle = await within_deadline(
            interaction,
            circles.set_agreement_of(
                int(match["circle_id"]), interaction.guild_id, values.text("agreement") or ""
            ),
        )
        await reply_ephemeral(
            interaction,
            f"Saved the agreement of **{discord.utils.escape_markdown(circle.name)}**. "
            "New members see it when they join.",
        )
