"""Answering an interaction whatever state it is in: first response, or a follow-up."""

from __future__ import annotations

import logging

import discord

log = logging.getLogger(__name__)

SORRY = (
    "Something went wrong on our side, and it has been logged (without anything you wrote). "
    "Please try again in a moment. If you need support right now, `/crisis` always works."
)


async def reply_ephemeral(interaction: discord.Interaction, content: str) -> None:
    """Send a private answer: the first response if there is none yet, else a follow-up."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(content, ephemeral=True)
        else:
            await interaction.response.send_message(content, ephemeral=True)
    except discord.HTTPException as error:
        # The token may be dead (past 3 s or 15 min); nothing more can reach this member here.
        log.warning(
            "Could not answer interaction %s: HTTP %s code %s",
            interaction.id,
            error.status,
            error.code,
        )
