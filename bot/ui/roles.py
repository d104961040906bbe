"""Rotating roles rendered: the cycle's post, each holder's private note, Swap and Skip,
the prompt holder's form, the facilitators' view and the history in `/circle info`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

import discord

from bot.domain.circles import Circle
from bot.domain.roles import PROMPT_MAX, ROLE_KEYS, ROLES, role_info
from bot.forms import FormValues, StatelessForm
from bot.replies import reply_ephemeral, within_deadline
from bot.services.roles import RoleStatus
from bot.storage.repositories.roles import Cycle, Holder
from bot.tree import answer_error
from bot.ui.timestamps import ts

if TYPE_CHECKING:
    from bot.app import CircleBot

ROLES_COLOUR = discord.Colour(0xC9A227)
_ROLE_PATTERN = "|".join(ROLE_KEYS)


def _who(user_id: int | None) -> str:
    return f"<@{user_id}>" if user_id else "nobody this time"


def cycle_embed(circle: Circle, cycle: Cycle, holders: dict[str, Holder]) -> discord.Embed:
    lines = []
    for role in ROLES:
        held = holders.get(role.key)
        holder = held.user_id if held else None
        extra = "" if holder else f" (volunteer with `/circle volunteer role:{role.key}`)"
        lines.append(f"**{role.title}** — {role.duty}: {_who(holder)}{extra}")
    embed = discord.Embed(
        title=f"This cycle's roles — {circle.name}",
        description="\n".join(lines),
        colour=ROLES_COLOUR,
    )
    embed.set_footer(
        text="Holders can Swap (the next in line takes it) or Skip (no reason needed)."
    )
    return embed


class HandOnButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=rf"roles-(?P<action>swap|skip):(?P<cycle_id>\d+):(?P<role>{_ROLE_PATTERN})",
):
    """Swap or Skip a role: only its holder may, and only in the current cycle."""

    def __init__(self, action: str, cycle_id: int, role: str, *, named: bool = True) -> None:
        label = "Swap" if action == "swap" else "Skip"
        super().__init__(
            discord.ui.Button(
                label=f"{label} {role}" if named else label,
                style=discord.ButtonStyle.secondary,
                custom_id=f"roles-{action}:{cycle_id}:{role}",
            )
        )
        self.action, self.cycle_id, self.role = action, cycle_id, role

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> HandOnButton:
        return cls(match["action"], int(match["cycle_id"]), match["role"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: CircleBot = interaction.client  # type: ignore[assignment]
        action: Literal["swap", "skip"] = "swap" if self.action == "swap" else "skip"
        try:
            handed = await within_deadline(
                interaction,
                bot.resources.services.roles.hand_on(
                    self.cycle_id, self.role, interaction.user.id, action
                ),
                defer_after=0,
            )
        except Exception as error:  # a button's failure is answered like a command's
            await answer_error(interaction, error)
            return
        title = role_info(self.role).title
        if handed.to_id is None:
            text = f"Done: you're off {title} this cycle. Nobody else is free for it, so it stays open."
        else:
            text = f"Done: <@{handed.to_id}> is {title} this cycle and has been told privately."
        await reply_ephemeral(interaction, text, allowed_mentions=discord.AllowedMentions.none())


def cycle_view(cycle_id: int, holders: dict[str, Holder]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for role in ROLE_KEYS:
        held = holders.get(role)
        if held is not None and held.user_id is not None:
            view.add_item(HandOnButton("swap", cycle_id, role))
            view.add_item(HandOnButton("skip", cycle_id, role))
    return view


def holder_message(circle: Circle, role: str) -> str:
    info = role_info(role)
    text = (
        f"You're **{info.title}** for **{discord.utils.escape_markdown(circle.name)}** this cycle: "
        f"you {info.duty}. Thank you for sharing the load. If it doesn't suit you this time, "
        "press Swap (the next in line takes it) or Skip; no reason needed."
    )
    if role == "prompt":
        text += " Press **Set the next question** to choose the next check-in question."
    if role == "keeper":
        text += (
            " When the circle meets live, you're offered the talking piece: a facilitator can "
            "start it with `/facilitate talk start`."
        )
    return text


def holder_view(cycle_id: int, role: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(HandOnButton("swap", cycle_id, role, named=False))
    view.add_item(HandOnButton("skip", cycle_id, role, named=False))
    if role == "prompt":
        view.add_item(SetPromptButton(cycle_id))
    return view


def change_text(role: str, from_id: int, to_id: int | None, action: str) -> str:
    title = role_info(role).title
    verb = "swapped" if action == "swap" else "skipped"
    if to_id is None:
        return f"<@{from_id}> {verb} **{title}** this cycle; nobody else is free, so it stays open."
    return f"<@{from_id}> {verb} **{title}**: <@{to_id}> holds it this cycle."


class SetPromptButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"roles-setprompt:(?P<cycle_id>\d+)"
):
    def __init__(self, cycle_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Set the next question",
                style=discord.ButtonStyle.primary,
                custom_id=f"roles-setprompt:{cycle_id}",
            )
        )
        self.cycle_id = cycle_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> SetPromptButton:
        return cls(int(match["cycle_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: CircleBot = interaction.client  # type: ignore[assignment]
        try:
            suggestion = bot.resources.services.roles.suggestion()
        except Exception as error:
            await answer_error(interaction, error)
            return
        await NextPromptForm(self.cycle_id, suggestion).send(interaction)


class NextPromptForm(StatelessForm):
    """The next round's question: one from the bank is offered; keep it or write your own."""

    template = re.compile(r"roles-prompt-form:(?P<cycle_id>\d+)")

    def __init__(self, cycle_id: int, suggestion: str) -> None:
        super().__init__(
            title="The next check-in question", custom_id=f"roles-prompt-form:{cycle_id}"
        )
        self.add_item(
            discord.ui.Label(
                text="Question",
                description="A suggestion from the prompt bank; keep it or write your own",
                component=discord.ui.TextInput(
                    custom_id="prompt",
                    style=discord.TextStyle.short,
                    max_length=PROMPT_MAX,
                    default=suggestion or None,
                ),
            )
        )

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], values: FormValues
    ) -> None:
        bot: CircleBot = interaction.client  # type: ignore[assignment]
        prompt = await within_deadline(
            interaction,
            bot.resources.services.roles.set_next_prompt(
                int(match["cycle_id"]), interaction.user.id, values.text("prompt")
            ),
            defer_after=0,
        )
        await reply_ephemeral(
            interaction,
            f"Saved. The next check-in round will ask: **{discord.utils.escape_markdown(prompt)}**",
        )


def status_embed(circle: Circle, status: RoleStatus) -> discord.Embed:
    embed = discord.Embed(title=f"Rotating roles — {circle.name}", colour=ROLES_COLOUR)
    for role in ROLES:
        names = [f"<@{v.user_id}>" for v in status.volunteers if v.role == role.key]
        embed.add_field(
            name=f"{role.title} — {role.duty}",
            value=", ".join(names) if names else "No volunteers yet.",
            inline=False,
        )
    rotation = (
        f"On: the next cycle starts {ts(status.next_cycle_at)}."
        if status.next_cycle_at
        else "Off. Turn it on with `rotation:True`."
    )
    embed.add_field(name="Rotation", value=rotation, inline=False)
    history = history_text(status.history)
    if history:
        embed.add_field(name="Recent cycles", value=history, inline=False)
    return embed


def history_text(history: list[tuple[Cycle, dict[str, Holder]]]) -> str:
    lines = []
    for cycle, holders in history:
        parts = []
        for role in ROLES:
            held = holders.get(role.key)
            if held is None:
                continue
            note = f" ({held.note})" if held.note else ""
            parts.append(f"{role.title}: {_who(held.user_id)}{note}")
        lines.append(f"{ts(cycle.started_at, 'd')} — " + " · ".join(parts))
    return "\n".join(lines)
