"""Check-in rounds rendered: the prompt with its persistent button, the modal, summaries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from bot.domain.checkins import NOTE_MAX, RoundSummary, SharedAnswer, Visibility
from bot.domain.circles import Circle, Round
from bot.domain.moods import MOOD_WORDS, MoodStats, mood_label
from bot.ui.base import SafeModal
from bot.ui.packing import clip, pack_lines

if TYPE_CHECKING:
    from bot.app import CircleBot

ROUND_COLOUR = discord.Colour(0x5B8DB8)
SUMMARY_COLOUR = discord.Colour(0x6BA368)


def ts(when: Any, style: str = "f") -> str:
    """A Discord timestamp: each viewer sees it in their own time zone."""
    return f"<t:{int(when.timestamp())}:{style}>"


def round_embed(circle: Circle, round_: Round) -> discord.Embed:
    embed = discord.Embed(
        title=f"Check-in — {circle.name}", description=f"**{round_.prompt}**", colour=ROUND_COLOUR
    )
    embed.add_field(
        name="How to answer",
        value=(
            "Press **Check in**: choose a mood from 1 to 5, add a note if you like, and choose who sees it "
            "(the circle, facilitators only, or just you). You can change your answer until the round closes."
        ),
        inline=False,
    )
    embed.add_field(
        name="Closes", value=f"{ts(round_.closes_at)} ({ts(round_.closes_at, 'R')})", inline=False
    )
    embed.set_footer(text="Peer support, not a crisis service. /crisis shows lines open right now.")
    return embed


class CheckInButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"checkin:(?P<round_id>\d+)"
):
    """Survives restarts: the round id travels inside the custom_id."""

    def __init__(self, round_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Check in", style=discord.ButtonStyle.primary, custom_id=f"checkin:{round_id}"
            )
        )
        self.round_id = round_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> CheckInButton:
        return cls(int(match["round_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        from bot.tree import answer_error

        bot: CircleBot = interaction.client  # type: ignore[assignment]
        try:
            circle, round_ = await bot.resources.services.checkins.open_round_for_answer(
                self.round_id, interaction.user.id
            )
        except Exception as error:
            await answer_error(interaction, error)
            return
        await interaction.response.send_modal(CheckInModal(bot, circle, round_))


def round_view(round_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(CheckInButton(round_id))
    return view


class CheckInModal(SafeModal):
    def __init__(self, bot: CircleBot, circle: Circle, round_: Round) -> None:
        super().__init__(
            title=clip(f"Check in — {circle.name}", 45), custom_id=f"checkin-modal:{round_.id}"
        )
        self.bot = bot
        self.round_id = round_.id
        self.mood: discord.ui.Select[Any] = discord.ui.Select(
            placeholder="How are you, really?",
            options=[
                discord.SelectOption(label=mood_label(m), value=str(m)) for m in sorted(MOOD_WORDS)
            ],
        )
        self.note: discord.ui.TextInput[Any] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=4000,
            placeholder="Anything you want to say. Optional.",
        )
        self.visibility: discord.ui.Select[Any] = discord.ui.Select(
            placeholder="Choose who sees your answer",
            options=[discord.SelectOption(label=v.label, value=v.value) for v in Visibility],
        )
        self.add_item(discord.ui.Label(text="Mood", component=self.mood))
        self.add_item(
            discord.ui.Label(
                text="Note",
                description=f"Optional, up to {NOTE_MAX:,} characters",
                component=self.note,
            )
        )
        self.add_item(discord.ui.Label(text="Who sees this", component=self.visibility))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        from bot.ui.checkin_replies import answered_message, support_message

        service = self.bot.resources.services.checkins
        mood, visibility = int(self.mood.values[0]), Visibility(self.visibility.values[0])
        saved = await service.save_answer(
            self.round_id, interaction.user.id, mood, self.note.value, visibility
        )
        # Thank the member as soon as the answer is stored; support follows privately.
        await interaction.response.send_message(
            answered_message(saved.replaced, mood, visibility), ephemeral=True
        )
        support = await service.support_after(saved, interaction.user.id)
        if support.needed:
            card = await self.bot.resources.services.crisis.card(interaction.guild_id, None)
            message = support_message(support, card)
            if message.content:
                await interaction.followup.send(
                    message.content, embeds=message.embeds, ephemeral=True
                )
            else:
                await interaction.followup.send(embeds=message.embeds, ephemeral=True)


def _distribution(summary: RoundSummary) -> str:
    parts = [
        f"{mood_label(m)}: **{n}**"
        for m, n in sorted(summary.distribution.items(), reverse=True)
        if n
    ]
    return " · ".join(parts) or "No moods were shared with the circle this time."


def summary_messages(
    circle: Circle, round_: Round, summary: RoundSummary
) -> list[list[discord.Embed]]:
    """The close summary: counts, distribution, and only what members shared with the circle."""
    counted = f"**{summary.answered}** checked in"
    if summary.away:
        counted += f" · {summary.away} away"
    if summary.missing:
        counted += f" · {summary.missing} didn't this time"
    head = [
        counted,
        f"Moods shared with the circle: {_distribution(summary)}",
    ]
    if summary.kept_private:
        head.append(f"{summary.kept_private} kept their answer private.")
    lines = [*head, ""] if summary.shared else head
    lines += [
        f"<@{a.member_id}> — {mood_label(a.mood)}\n> {clip(a.note or '', 1000)}"
        for a in summary.shared
    ]
    lines.append("Thank you for showing up for each other.")
    return pack_lines(lines, title=f"Check-in closed — {circle.name}", colour=SUMMARY_COLOUR)


def facilitator_messages(
    circle: Circle, round_: Round, answers: Sequence[SharedAnswer]
) -> list[list[discord.Embed]]:
    lines = [
        f"Answers shared with facilitators only, from the round that opened {ts(round_.opened_at)}. "
        "Please keep them between facilitators."
    ]
    for a in answers:
        note = f"\n> {clip(a.note, 1000)}" if a.note else ""
        lines.append(f"<@{a.member_id}> — {mood_label(a.mood)}{note}")
    return pack_lines(lines, title=f"For facilitators — {circle.name}", colour=ROUND_COLOUR)


def history_text(stats: MoodStats, days: int) -> str:
    average = f"{stats.average:.1f}" if stats.average is not None else "–"
    weeks = "week" if stats.streak == 1 else "weeks"
    return (
        f"Your last {days} days: **{stats.count}** check-in(s), average **{average}**, "
        f"streak **{stats.streak}** {weeks} in a row. Only you can see this."
    )
