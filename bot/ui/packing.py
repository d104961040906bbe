"""Fitting long lists into Discord's embed limits (4,096 per description, 6,000 per message)."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.text import clip

__all__ = ["clip", "pack_lines"]

DESCRIPTION_BUDGET = 3900
MESSAGE_BUDGET = 5800
EMBEDS_PER_MESSAGE = 10


def pack_lines(
    lines: Sequence[str], *, title: str, colour: discord.Colour
) -> list[list[discord.Embed]]:
    """Lines packed into embeds, and embeds into messages, each within Discord's limits."""
    embeds: list[discord.Embed] = []
    buffer = ""
    for line in lines:
        line = clip(line, DESCRIPTION_BUDGET)
        if buffer and len(buffer) + 1 + len(line) > DESCRIPTION_BUDGET:
            embeds.append(discord.Embed(description=buffer, colour=colour))
            buffer = ""
        buffer = f"{buffer}\n{line}" if buffer else line
    if buffer:
        embeds.append(discord.Embed(description=buffer, colour=colour))
    if embeds:
        embeds[0].title = clip(title, 256)
    messages: list[list[discord.Embed]] = []
    current: list[discord.Embed] = []
    size = 0
    for embed in embeds:
        length = len(embed)
        if current and (size + length > MESSAGE_BUDGET or len(current) == EMBEDS_PER_MESSAGE):
            messages.append(current)
            current, size = [], 0
        current.append(embed)
        size += length
    if current:
        messages.append(current)
    return messages
