"""Shared resources rendered: the add form and the list, as plain text with links that never
unfurl (angle brackets, and embeds suppressed on the message)."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

import discord

from bot.domain.resources import (
    NAME_MAX,
    NOTES_MAX,
    OFFERS_MAX,
    REGION_MAX,
    URL_MAX,
    Resource,
    kind_label,
)
from bot.forms import FormValues, StatelessForm
from bot.replies import reply_ephemeral, within_deadline
from bot.ui.packing import clip

if TYPE_CHECKING:
    from bot.app import CircleBot

MESSAGE_BUDGET = 1900
OUTDATED = "possibly out of date"


def _who(resource: Resource) -> str:
    if resource.starter:
        return "Circlekeeper's starter list"
    return "a member" if resource.anonymous else f"<@{resource.author_id}>"


def resource_text(resource: Resource, today: date) -> str:
    esc = discord.utils.escape_markdown
    head = f"**{esc(resource.name)}** · {kind_label(resource.kind)} · {resource.region if resource.region != 'ANY' else 'anywhere'}"
    lines = [head, esc(resource.offers)]
    if resource.url:
        lines.append(f"<{resource.url}>")
    if resource.notes:
        lines.append(f"Notes: {esc(clip(resource.notes, 300))}")
    dates = f"added by {_who(resource)} on {resource.added_on.isoformat()} · confirmed {resource.confirmed_on.isoformat()}"
    if resource.possibly_outdated(today):
        dates += f" · ⚠ {OUTDATED}"
    if resource.source:
        dates += f" · source <{resource.source}>"
    lines.append(dates)
    if resource.id is not None:
        lines.append(f"entry #{resource.id}")
    return "\n".join(lines)


def resources_message(resources: list[Resource], today: date, heading: str) -> str:
    parts = [heading]
    used = len(heading)
    for index, resource in enumerate(resources):
        block = resource_text(resource, today)
        if used + len(block) + 2 > MESSAGE_BUDGET:
            parts.append(
                f"…and {len(resources) - index} more: narrow it with `kind`, `region` or `/resources search`."
            )
            break
        parts.append(block)
        used += len(block) + 2
    return "\n\n".join(parts)


class ResourceForm(StatelessForm):
    """Name, what it offers, link, region, notes; the kind and anonymity ride in the id."""

    template = re.compile(r"resource-form:(?P<kind>[a-z-]+):(?P<anonymous>[01])")

    def __init__(self, kind: str, anonymous: bool) -> None:
        super().__init__(
            title=clip(f"Add: {kind_label(kind)}", 45),
            custom_id=f"resource-form:{kind}:{int(anonymous)}",
        )
        fields = (
            (
                "name",
                "Name",
                "e.g. Riverside Community Clinic",
                NAME_MAX,
                True,
                discord.TextStyle.short,
            ),
            (
                "offers",
                "What it offers",
                "e.g. Counselling from $20 a session",
                OFFERS_MAX,
                True,
                discord.TextStyle.paragraph,
            ),
            ("url", "Link", "https://… (optional)", URL_MAX, False, discord.TextStyle.short),
            (
                "region",
                "Region",
                "A country, e.g. UK; empty for anywhere/online",
                REGION_MAX,
                False,
                discord.TextStyle.short,
            ),
            (
                "notes",
                "Notes",
                "Anything that helps: how to ask, waiting times (optional)",
                NOTES_MAX,
                False,
                discord.TextStyle.paragraph,
            ),
        )
        for custom_id, label, placeholder, limit, required, style in fields:
            self.add_item(
                discord.ui.Label(
                    text=label,
                    component=discord.ui.TextInput(
                        custom_id=custom_id,
                        style=style,
                        required=required,
                        max_length=limit,
                        placeholder=placeholder,
                    ),
                )
            )

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], values: FormValues
    ) -> None:
        bot: CircleBot = interaction.client  # type: ignore[assignment]
        assert interaction.guild_id is not None
        fields = {key: values.text(key) for key in ("name", "offers", "url", "region", "notes")}
        added = await within_deadline(
            interaction,
            bot.resources.services.resources.add(
                interaction.guild_id,
                interaction.user.id,
                match["kind"],
                match["anonymous"] == "1",
                fields,
            ),
            defer_after=0,
        )
        name = discord.utils.escape_markdown(added.resource.name)
        who = "as “a member”" if added.resource.anonymous else "with your name"
        if added.pending:
            text = f"Thank you. **{name}** is saved {who} and waits for a facilitator's approval before it's listed."
        else:
            text = f"Thank you. **{name}** is listed {who}; `/resources list` shows it."
        await reply_ephemeral(interaction, text)
