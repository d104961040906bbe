"""The command tree: every failure gets a short private answer; tracebacks are logged redacted."""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.errors import UserError
from bot.logging_setup import redacted_traceback
from bot.metrics import count_error
from bot.replies import SORRY, note_unanswerable, reply_ephemeral
from bot.storage.database import DatabaseBusy
from bot.text import MESSAGE_MAX, clip

log = logging.getLogger(__name__)

BUSY = (
    "I couldn't save that just now: the database was busy for too long, and nothing was saved. "
    "Please try again in a minute."
)


def refusal_text(error: BaseException) -> str | None:
    """The member-facing text for an expected failure, or None for a bug."""
    original = getattr(error, "original", None)
    if isinstance(original, UserError):
        return original.render()
    if isinstance(error, UserError):
        return error.render()
    if isinstance(original, DatabaseBusy) or isinstance(error, DatabaseBusy):
        return BUSY
    render = getattr(error, "render", None)
    if isinstance(error, app_commands.CheckFailure) and callable(render):
        return str(render())
    if isinstance(error, app_commands.NoPrivateMessage):
        return "That command works inside a server, not in DMs. Try it in your circle's channel."
    if isinstance(error, app_commands.MissingPermissions | app_commands.CheckFailure):
        return (
            "Only facilitators can do that: members with Manage Server or the facilitator role. "
            "Ask one of them, or see `/circle info`."
        )
    if isinstance(error, app_commands.TransformerError):
        return _unresolved(error)
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Please wait {error.retry_after:.0f} s before using that again."
    return None


def _unresolved(error: app_commands.TransformerError) -> str:
    """An option Discord resolved but the bot's cache does not hold yet: most often a channel
    created a moment ago (its CHANNEL_CREATE not yet received) or one the bot cannot view."""
    if error.type is discord.AppCommandOptionType.channel:
        return (
            "I can't see that channel yet. Give me View Channel there (a channel made a moment "
            "ago can take a few seconds to reach me), then pick it again, e.g. `channel:#circle-asks`."
        )
    kinds = {"user": "member", "role": "role", "mentionable": "member or role"}
    what = kinds.get(error.type.name, "choice")
    return (
        f"I couldn't find that {what} here. Pick one from the list Discord offers, then try again."
    )


async def answer_error(interaction: discord.Interaction, error: BaseException) -> None:
    if note_unanswerable(interaction, getattr(error, "original", None) or error):
        return  # answered too late or twice: Discord would refuse any further answer too
    text = refusal_text(error)
    count_error(interaction.client, "refusal" if text is not None else "unhandled")
    if text is None:
        command = interaction.command.qualified_name if interaction.command else "component"
        log.error(
            "Unhandled error in %s (interaction %s, guild %s, user %s)\n%s",
            command,
            interaction.id,
            interaction.guild_id,
            interaction.user.id,
            redacted_traceback(error),
        )
        text = SORRY
    # Quoted values are clipped where they are quoted; this keeps any refusal inside
    # Discord's limit, or the member would see nothing at all.
    await reply_ephemeral(interaction, clip(text, MESSAGE_MAX))


class CircleTree(app_commands.CommandTree[discord.Client]):
    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await answer_error(interaction, error)
