"""Options Discord resolved but the bot's cache does not hold get a clear, private answer."""

from __future__ import annotations

import discord
import pytest
from discord import app_commands
from discord.app_commands.transformers import BaseChannelTransformer, IdentityTransformer

from bot.tree import refusal_text

OptionType = discord.AppCommandOptionType


@pytest.mark.parametrize(
    ("option", "transformer", "says"),
    [
        (OptionType.channel, BaseChannelTransformer(discord.TextChannel), "can't see that channel yet"),
        (OptionType.user, IdentityTransformer(OptionType.user), "couldn't find that member here"),
        (OptionType.role, IdentityTransformer(OptionType.role), "couldn't find that role here"),
        (OptionType.string, IdentityTransformer(OptionType.string), "couldn't find that choice here"),
    ],
)  # fmt: skip
def test_an_unresolved_option_is_refused_with_what_to_do(option, transformer, says) -> None:
    error = app_commands.TransformerError(123, option, transformer)
    text = refusal_text(error)
    assert text is not None and says in text
    assert "again" in text
