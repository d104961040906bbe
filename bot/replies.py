"""Answering an interaction whatever state it is in, and always inside Discord's deadline.

Discord kills an interaction's token if the first response does not come within 3 s. Work
that may wait (a write while another process holds the database) runs through
:func:`within_deadline`, which acknowledges privately (a deferred "thinking" response) if the
work is not done in time, so the member's answer comes as the follow-up instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import discord

from bot.metrics import count_error

log = logging.getLogger(__name__)

T = TypeVar("T")

SORRY = (
    "Something went wrong on our side, and it has been logged (without anything you wrote). "
    "Please try again in a moment. If you need support right now, `/crisis` always works."
)

DEFER_AFTER_SECONDS = 1.0  # well inside Discord's 3 s, leaving room for a crowded event loop
UNKNOWN_INTERACTION, ALREADY_ACKNOWLEDGED = 10062, 40060


def note_unanswerable(interaction: discord.Interaction, error: BaseException) -> bool:
    """True (and counted, and logged as a warning) when Discord says the interaction is gone.

    That happens when an answer came too late (past 3 s, or past 15 minutes for follow-ups)
    or twice; it is a warning with a count, not a crash.
    """
    if not isinstance(error, discord.HTTPException) or error.code not in (
        UNKNOWN_INTERACTION,
        ALREADY_ACKNOWLEDGED,
    ):
        return False
    if interaction.extras.get("unanswerable"):
        return True  # counted once per interaction, however many answers Discord refused
    interaction.extras["unanswerable"] = True
    client = interaction.client
    count_error(client, "late")
    count = getattr(client, "late_interactions", 0) + 1
    if hasattr(client, "late_interactions"):
        client.late_interactions = count
    log.warning(
        "Interaction %s could not be answered (Discord code %s); %d so far",
        interaction.id,
        error.code,
        count,
    )
    return True


async def within_deadline(
    interaction: discord.Interaction,
    work: Awaitable[T],
    *,
    defer_after: float = DEFER_AFTER_SECONDS,
) -> T:
    """Run `work`; if it is not done within `defer_after` seconds, acknowledge privately first.

    `defer_after=0` acknowledges at once: for work that always writes, where a busy moment
    would otherwise queue many members behind one another past the deadline.
    """
    task = asyncio.ensure_future(work)
    done: set[asyncio.Future[T]] = set()
    if defer_after > 0:
        done, _ = await asyncio.wait({task}, timeout=defer_after)
    if not done and not interaction.response.is_done():
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
        except discord.HTTPException as error:
            if not note_unanswerable(interaction, error):
                raise
    return await task


async def reply_ephemeral(interaction: discord.Interaction, content: str, **extra: Any) -> None:
    """Send a private answer: the first response if there is none yet, else a follow-up."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(content, ephemeral=True, **extra)
        else:
            await interaction.response.send_message(content, ephemeral=True, **extra)
    except discord.HTTPException as error:
        # The token may be dead (past 3 s or 15 min); nothing more can reach this member here.
        if not note_unanswerable(interaction, error):
            log.warning(
                "Could not answer interaction %s: HTTP %s code %s",
                interaction.id,
                error.status,
                error.code,
            )
