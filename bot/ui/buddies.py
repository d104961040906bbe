"""Buddy pairing's messages and its persistent buttons (the cycle id travels in custom_id)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from bot.domain.buddies import Answer, CycleSchedule, CycleStats
from bot.domain.circles import Circle
from bot.ui.timestamps import ts

if TYPE_CHECKING:
    from bot.app import CircleBot

LABELS = {
    Answer.CONNECTED: "We connected",
    Answer.NOT_YET: "Not yet",
    Answer.SKIP: "Skip this cycle",
}
STYLES = {
    Answer.CONNECTED: discord.ButtonStyle.success,
    Answer.NOT_YET: discord.ButtonStyle.secondary,
    Answer.SKIP: discord.ButtonStyle.secondary,
}
THANKS = {
    Answer.CONNECTED: "Lovely — noted that you connected. Thank you for showing up for each other.",
    Answer.NOT_YET: "Noted: not yet. I'll ask once more in two days. No pressure.",
    Answer.SKIP: "Noted: skipping this cycle. You'll get a new buddy next cycle.",
}


def _name(circle: Circle) -> str:
    return discord.utils.escape_markdown(circle.name)


def _people(user_ids: Sequence[int]) -> str:
    mentions = [f"<@{u}>" for u in user_ids]
    return mentions[0] if len(mentions) == 1 else ", ".join(mentions[:-1]) + f" and {mentions[-1]}"


def intro_text(circle: Circle, mates: Sequence[int], ends_at: datetime, question: str) -> str:
    if not mates:
        return (
            f"This buddy cycle in **{_name(circle)}** couldn't place you with anyone this time "
            "(not enough members were available). You're still in: you'll be paired next cycle."
        )
    who = "buddies" if len(mates) > 1 else "buddy"
    return (
        f"Your {who} in **{_name(circle)}** until {ts(ends_at, 'D')}: {_people(mates)}.\n"
        f"A first question, if you'd like one: *{question}*\n"
        "Reach out when it suits you both, then let me know below."
    )


def thread_text(circle: Circle, members: Sequence[int], question: str) -> str:
    return (
        f"Buddies in **{_name(circle)}** this cycle: {_people(members)}.\n"
        "I couldn't reach one of you by direct message, so this private thread is your space "
        f"instead; only you (and server moderators) can see it.\nA first question: *{question}*"
    )


def follow_up_text(circle: Circle, mates: Sequence[int], again: bool) -> str:
    if again:
        return f"Checking once more: did you and {_people(mates)} connect in **{_name(circle)}**?"
    return (
        f"Halfway through the cycle in **{_name(circle)}**: did you and {_people(mates)} connect?"
    )


def buddy_left_text(circle: Circle) -> str:
    return (
        f"Your buddy in **{_name(circle)}** is no longer in this server, so there is nothing to "
        "follow up this cycle. You'll be paired again next cycle."
    )


def paused_text(circle: Circle) -> str:
    return (
        f"I've paused your buddy pairing in **{_name(circle)}**: three cycles went by without an "
        "answer, and I'd rather not keep pairing you if now isn't the time. Whenever you'd like "
        "to come back: `/buddy join`."
    )


def current_text(found: Sequence[tuple[Circle, Any]]) -> str:
    if not found:
        return "You have no buddy this cycle. `/buddy join` takes part in your circle's pairing."
    lines = []
    for circle, placement in found:
        if placement.mates:
            lines.append(
                f"**{_name(circle)}**: {_people(placement.mates)}, since "
                f"{ts(placement.cycle.started_at, 'D')} (until {ts(placement.cycle.ends_at, 'D')})."
            )
        else:
            lines.append(f"**{_name(circle)}**: nobody could be paired with you this cycle.")
    return "\n".join(lines)


def schedule_text(circle: Circle, schedule: CycleSchedule, next_at: datetime) -> str:
    return (
        f"Buddy cycles in **{_name(circle)}**: {schedule.describe()}. "
        f"Next {ts(next_at)} ({ts(next_at, 'R')})."
    )


def stats_text(circle: Circle, opted_in: int, cycles: Sequence[CycleStats]) -> str:
    lines = [f"Buddy pairing in **{_name(circle)}**: {opted_in} opted in."]
    for c in cycles:
        lines.append(
            f"{ts(c.started_at, 'D')}: {c.placed} paired in {c.groups} groups, "
            f"“we connected” {c.connected_groups}/{c.groups} ({c.connected_rate:.0%})"
        )
    if not cycles:
        lines.append("No cycles yet. `/facilitate buddies now` starts one.")
    return "\n".join(lines)


class BuddyAnswerButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"buddy:(?P<cycle_id>\d+):(?P<answer>connected|not_yet|skip)",
):
    """Survives restarts: the cycle and the answer travel inside the custom_id."""

    def __init__(self, cycle_id: int, answer: Answer) -> None:
        super().__init__(
            discord.ui.Button(
                label=LABELS[answer],
                style=STYLES[answer],
                custom_id=f"buddy:{cycle_id}:{answer.value}",
            )
        )
        self.cycle_id = cycle_id
        self.answer = answer

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> BuddyAnswerButton:
        return cls(int(match["cycle_id"]), Answer(match["answer"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        from bot.replies import reply_ephemeral, within_deadline
        from bot.tree import answer_error

        bot: CircleBot = interaction.client  # type: ignore[assignment]
        try:
            answered = await within_deadline(
                interaction,
                bot.resources.services.buddies.answer(
                    self.cycle_id, interaction.user.id, self.answer
                ),
            )
        except Exception as error:
            await answer_error(interaction, error)
            return
        text = THANKS[self.answer] if not answered.repeated else "Already noted — thank you."
        await reply_ephemeral(interaction, text)


def answer_view(cycle_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for answer in Answer:
        view.add_item(BuddyAnswerButton(cycle_id, answer))
    return view
