"""Check-in rounds rendered: the prompt with its persistent button, the modal, summaries."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import discord

from bot.checks import facilitators_now
from bot.domain.checkins import NOTE_MAX, RoundSummary, SharedAnswer, Visibility
from bot.domain.circles import Circle, Round
from bot.domain.moods import MOOD_WORDS, MoodStats, mood_label
from bot.errors import ValidationError
from bot.forms import FormValues, StatelessForm
from bot.replies import reply_ephemeral, within_deadline
from bot.ui.checkin_replies import answered_message, support_message
from bot.ui.packing import clip, pack_lines
from bot.ui.timestamps import ts

if TYPE_CHECKING:
    from bot.app import CircleBot

FORM_LOOKUP_SECONDS = 0.8  # the button's look-up gives way to the form well inside 3 s
ROUND_COLOUR = discord.Colour(0x5B8DB8)
SUMMARY_COLOUR = discord.Colour(0x6BA368)


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
        service = bot.resources.services.checkins
        title = "Check in"
        try:
            # A quick look first, so a non-member is told at once; never past the deadline.
            circle, _ = await asyncio.wait_for(
                service.open_round_for_answer(self.round_id, interaction.user.id),
                FORM_LOOKUP_SECONDS,
            )
            title = f"Check in — {circle.name}"
        except TimeoutError:
            pass  # show the form anyway: the submit checks everything again
        except Exception as error:
            await answer_error(interaction, error)
            return
        await CheckInModal(self.round_id, title).send(interaction)


def round_view(round_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(CheckInButton(round_id))
    return view


class CheckInModal(StatelessForm):
    """The check-in form. Its submit carries the round in its custom_id, so any number of
    members can have it open at once, and a form opened before a restart still saves."""

    template = re.compile(r"checkin-modal:(?P<round_id>\d+)")

    def __init__(self, round_id: int, title: str) -> None:
        super().__init__(title=clip(title, 45), custom_id=f"checkin-modal:{round_id}")
        self.add_item(
            discord.ui.Label(
                text="Mood",
                component=discord.ui.Select(
                    custom_id="mood",
                    placeholder="How are you, really?",
                    options=[
                        discord.SelectOption(label=mood_label(m), value=str(m))
                        for m in sorted(MOOD_WORDS)
                    ],
                ),
            )
        )
        self.add_item(
            discord.ui.Label(
                text="Note",
                description=f"Optional, up to {NOTE_MAX:,} characters",
                component=discord.ui.TextInput(
                    custom_id="note",
                    style=discord.TextStyle.paragraph,
                    required=False,
                    max_length=4000,
                    placeholder="Anything you want to say. Optional.",
                ),
            )
        )
        self.add_item(
            discord.ui.Label(
                text="Who sees this",
                component=discord.ui.Select(
                    custom_id="visibility",
                    placeholder="Choose who sees your answer",
                    options=[
                        discord.SelectOption(label=v.label, value=v.value) for v in Visibility
                    ],
                ),
            )
        )

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], values: FormValues
    ) -> None:
        bot: CircleBot = interaction.client  # type: ignore[assignment]
        service = bot.resources.services.checkins
        mood, visibility = parse_answer(values.choice("mood"), values.choice("visibility"))
        # Acknowledged at once: a whole circle submits in the same minute, and each answer is a
        # write, so none may wait behind the others for its first response.
        saved = await within_deadline(
            interaction,
            service.save_answer(
                int(match["round_id"]), interaction.user.id, mood, values.text("note"), visibility
            ),
            defer_after=0,
        )
        # Thank the member as soon as the answer is stored; support follows privately.
        await reply_ephemeral(interaction, answered_message(saved.replaced, mood, visibility))
        support = await service.support_after(saved, interaction.user.id)
        if not support.needed:
            return
        # Name only those who facilitate now: a role taken away takes the mention with it.
        current = await facilitators_now(bot, saved.circle.guild_id, support.facilitator_ids[:5])
        card = await bot.resources.services.crisis.card(interaction.guild_id, None)
        message = support_message(replace(support, facilitator_ids=tuple(current)), card)
        await interaction.followup.send(
            message.content or discord.utils.MISSING, embeds=message.embeds, ephemeral=True
        )


def parse_answer(mood: str | None, visibility: str | None) -> tuple[int, Visibility]:
    try:
        chosen_mood, chosen_visibility = int(mood or ""), Visibility(visibility or "")
    except ValueError:
        chosen_mood, chosen_visibility = 0, Visibility.SELF
    if chosen_mood not in MOOD_WORDS or visibility is None:
        raise ValidationError(
            "Choose a mood and who sees your answer, then submit again.",
            "Mood: 3 · Who sees this: the circle",
        )
    return chosen_mood, chosen_visibility


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
