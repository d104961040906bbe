"""The crisis plan rendered: the two forms, the plan as an embed and as a file, its buttons.

Everything here answers privately: a plan is shown only to its author (and, through
`/crisisplan share`, to the one person they chose).
"""

from __future__ import annotations

import asyncio
import io
import re
from typing import TYPE_CHECKING, Any

import discord

from bot.domain.crisisplan import (
    PARTS,
    SECTION_MAX,
    SECTIONS,
    CrisisPlan,
    plan_text,
    professionals_prefill,
    section,
)
from bot.forms import FormValues, StatelessForm
from bot.replies import reply_ephemeral, within_deadline
from bot.tree import answer_error
from bot.ui.packing import clip

if TYPE_CHECKING:
    from bot.app import CircleBot

PLAN_COLOUR = discord.Colour(0x7A9E7E)
FORM_LOOKUP_SECONDS = 0.8  # the plan is read before its form opens, well inside 3 s
PRIVATE_NOTE = (
    "Only you can see this. Nobody else, facilitators included, can read your plan unless you "
    "send it with /crisisplan share."
)
NO_PLAN = (
    "You don't have a crisis plan yet. `/crisisplan edit` starts one: every section is optional."
)
PART_TOPICS = {
    1: "warning signs, things you can do on your own, people and places, people to ask",
    2: "professionals and lines, making your surroundings safer, your reasons to keep going",
}


EMBED_BUDGET = 5600  # Discord allows 6,000 characters per message's embeds; room for titles
SHORTENED_NOTE = "Long sections are shortened here; the file has every word."


def plan_embed(plan: CrisisPlan, *, title: str = "My crisis plan") -> discord.Embed:
    """The plan as one embed. Seven full sections exceed Discord's 6,000 characters, so when
    they would, each section gets an equal share and the file carries the whole text."""
    texts = [plan.get(entry.key).strip() for entry in SECTIONS]
    fixed = len(title) + sum(len(entry.title) for entry in SECTIONS) + 200
    per_field = 1024
    if fixed + sum(len(text) for text in texts) > EMBED_BUDGET:
        per_field = (EMBED_BUDGET - fixed) // len(SECTIONS)
    embed = discord.Embed(title=title, colour=PLAN_COLOUR)
    for entry, text in zip(SECTIONS, texts, strict=True):
        embed.add_field(
            name=entry.title, value=clip(text, per_field) if text else "—", inline=False
        )
    footer = "If you are in immediate danger, call your local emergency number. /crisis shows lines open now."
    if per_field < 1024:
        footer = f"{SHORTENED_NOTE} {footer}"
    embed.set_footer(text=footer)
    return embed


def plan_file(plan: CrisisPlan, *, heading: str = "My crisis plan") -> discord.File:
    data = plan_text(plan, heading=heading).encode("utf-8")
    return discord.File(io.BytesIO(data), filename="crisis-plan.txt")


async def show_plan(interaction: discord.Interaction) -> None:
    """The member's own plan, privately: an embed and a plain-text file."""
    bot: CircleBot = interaction.client  # type: ignore[assignment]
    plan = await within_deadline(
        interaction, bot.resources.services.crisisplan.get(interaction.user.id)
    )
    if plan is None:
        await reply_ephemeral(interaction, NO_PLAN)
        return
    await reply_ephemeral(interaction, PRIVATE_NOTE, embed=plan_embed(plan), file=plan_file(plan))


class CrisisPlanForm(StatelessForm):
    """One part of the plan. Its submit is handled from the custom_id (the part) and the
    submitter (the plan's owner), so it saves after a restart and never mixes members."""

    template = re.compile(r"crisisplan-form:(?P<part>[12])")

    def __init__(self, part: int, values: dict[str, str]) -> None:
        super().__init__(title=f"My crisis plan ({part} of 2)", custom_id=f"crisisplan-form:{part}")
        for key in PARTS[part]:
            entry = section(key)
            self.add_item(
                discord.ui.Label(
                    text=entry.label,
                    description=f"Optional, up to {SECTION_MAX:,} characters",
                    component=discord.ui.TextInput(
                        custom_id=key,
                        style=discord.TextStyle.paragraph,
                        required=False,
                        max_length=SECTION_MAX,
                        placeholder=entry.placeholder,
                        default=values.get(key) or None,
                    ),
                )
            )

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], values: FormValues
    ) -> None:
        bot: CircleBot = interaction.client  # type: ignore[assignment]
        part = int(match["part"])
        texts = {key: values.text(key) for key in PARTS[part]}
        await within_deadline(
            interaction,
            bot.resources.services.crisisplan.save_part(interaction.user.id, part, texts),
            defer_after=0,  # a write: acknowledged at once
        )
        if part == 1:
            view = discord.ui.View(timeout=None)
            view.add_item(PlanPartButton(2))
            await reply_ephemeral(
                interaction,
                f"Saved part 1 of 2. Part 2 covers {PART_TOPICS[2]}.",
                view=view,
            )
            return
        await reply_ephemeral(
            interaction,
            "Saved part 2 of 2. `/crisisplan view` shows your whole plan, and the `/crisis` card "
            "now has a **My plan** button. " + PRIVATE_NOTE,
        )


async def open_plan_form(interaction: discord.Interaction, part: int) -> None:
    """The form for one part, filled with what the member wrote before.

    If the plan cannot be read in time the form is not opened at all: an empty form saved
    over a plan would erase it."""
    bot: CircleBot = interaction.client  # type: ignore[assignment]
    services = bot.resources.services
    try:
        plan = await asyncio.wait_for(
            services.crisisplan.get(interaction.user.id), FORM_LOOKUP_SECONDS
        )
    except Exception:
        await reply_ephemeral(
            interaction,
            "I couldn't load your plan just now, so I didn't open the form (it would have "
            "started empty). Please try again in a moment. `/crisis` always works.",
        )
        return
    values = dict(plan.sections) if plan is not None else {}
    if part == 2 and not values.get("professionals"):
        card = await services.crisis.card(interaction.guild_id, None, str(interaction.locale))
        values["professionals"] = professionals_prefill(card.lookup.region)
    await CrisisPlanForm(part, values).send(interaction)


class PlanPartButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"crisisplan-part:(?P<part>[12])"
):
    """Opens a part's form for whoever presses it (their own plan)."""

    def __init__(self, part: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=f"Continue with part {part}",
                style=discord.ButtonStyle.primary,
                custom_id=f"crisisplan-part:{part}",
            )
        )
        self.part = part

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> PlanPartButton:
        return cls(int(match["part"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await open_plan_form(interaction, self.part)
        except Exception as error:  # a button's failure is answered like a command's
            await answer_error(interaction, error)


class MyPlanButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"crisisplan-show"):
    """On the /crisis card: shows the presser's own plan, privately (never anyone else's)."""

    def __init__(self) -> None:
        super().__init__(
            discord.ui.Button(
                label="My plan", style=discord.ButtonStyle.secondary, custom_id="crisisplan-show"
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> MyPlanButton:
        return cls()

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await show_plan(interaction)
        except Exception as error:
            await answer_error(interaction, error)


def my_plan_view() -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(MyPlanButton())
    return view


class DeletePlanChoice(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"crisisplan-(?P<action>delete|keep):(?P<user_id>\d+)",
):
    """Delete or keep, answered only by the member who asked (their id is in the custom_id)."""

    def __init__(self, action: str, user_id: int) -> None:
        delete = action == "delete"
        super().__init__(
            discord.ui.Button(
                label="Delete my plan" if delete else "Keep it",
                style=discord.ButtonStyle.danger if delete else discord.ButtonStyle.secondary,
                custom_id=f"crisisplan-{action}:{user_id}",
            )
        )
        self.action, self.user_id = action, user_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> DeletePlanChoice:
        return cls(match["action"], int(match["user_id"]))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.user_id:
            await interaction.response.send_message(
                "This button belongs to someone else. `/crisisplan delete` is for your own plan.",
                ephemeral=True,
            )
            return False
        return True

    async def callback(self, interaction: discord.Interaction) -> None:
        if self.action == "keep":
            await interaction.response.edit_message(content="Your plan is kept.", view=None)
            return
        bot: CircleBot = interaction.client  # type: ignore[assignment]
        await interaction.response.edit_message(content="Deleting your plan…", view=None)
        try:
            deleted = await bot.resources.services.crisisplan.delete(self.user_id)
        except Exception as error:
            await interaction.edit_original_response(
                content="Nothing was deleted: something went wrong on our side. "
                "Please try `/crisisplan delete` again in a moment."
            )
            await answer_error(interaction, error)  # logged (ids only), and a private word
            return
        await interaction.edit_original_response(
            content="Deleted. Nothing of your crisis plan remains stored."
            if deleted
            else "There was no plan to delete."
        )


def confirm_delete_view(user_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(DeletePlanChoice("delete", user_id))
    view.add_item(DeletePlanChoice("keep", user_id))
    return view


def shared_plan_message(author_id: int) -> str:
    return (
        f"<@{author_id}> chose to send you a copy of their crisis plan, so you know how to help "
        "if they reach out. Please keep it private. If they are in immediate danger, call "
        "the local emergency number; `/crisis` shows lines open now."
    )
