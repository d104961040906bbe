"""Views whose failures are answered like command failures (forms: see `bot.forms`)."""

from __future__ import annotations

from typing import Any

import discord

from bot.tree import answer_error


class SafeView(discord.ui.View):
    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await answer_error(interaction, error)
