"""The foundation's error path, end to end: every failure answers the member privately, and
logs carry ids and a stack, never what the member wrote, never the bot token.

A test-only cog is loaded into the running bot (and synced to the local server) so the
failures are real exceptions inside real command handlers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.errors import ValidationError
from bot.logging_setup import SecretFilter, configure_logging
from bot.replies import SORRY
from bot.ui.base import SafeView
from tests.e2e.conftest import Stage, World

MEMBER_TEXT = "my private words 7f3a: I can't cope with my landlord"


class Explode(SafeView):
    def __init__(self) -> None:
        super().__init__(timeout=60)

    @discord.ui.button(label="Explode")
    async def explode(
        self, interaction: discord.Interaction, button: discord.ui.Button[Explode]
    ) -> None:
        raise KeyError(MEMBER_TEXT)


class Failing(commands.Cog):
    """Commands that fail in each way a real feature can."""

    @app_commands.command(name="test-boom", description="Raises at once.")
    async def boom(self, interaction: discord.Interaction, text: str) -> None:
        raise ValueError(text)

    @app_commands.command(name="test-boom-late", description="Defers, then raises.")
    async def boom_late(self, interaction: discord.Interaction, text: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await asyncio.sleep(0)
        raise RuntimeError(f"while saving {text!r}")

    @app_commands.command(name="test-boom-after-answer", description="Answers, then raises.")
    async def boom_after_answer(self, interaction: discord.Interaction, text: str) -> None:
        await interaction.response.send_message("Working on it.", ephemeral=True)
        raise LookupError(text)

    @app_commands.command(name="test-refuse", description="Refuses bad input.")
    async def refuse(self, interaction: discord.Interaction, text: str) -> None:
        raise ValidationError("That date is not in the calendar.", "until:2026-12-24")

    @app_commands.command(name="test-view", description="Shows a button that fails.")
    async def view(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Press it.", view=Explode(), ephemeral=True)


@pytest.fixture(scope="module")
async def failing(stage: Stage) -> AsyncIterator[None]:
    await stage.bot.add_cog(Failing())
    await stage.bot.tree.sync()
    yield
    await stage.bot.remove_cog("Failing")
    await stage.bot.tree.sync()


@pytest.fixture
def production_logging(world: World, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Logging exactly as `circlekeeper run` sets it up at LOG_LEVEL=DEBUG (discord.py's own
    loggers stay at INFO: at DEBUG it prints raw gateway payloads), captured by caplog."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logging.getLogger("discord").level
    settings = world.bot.resources.settings
    configure_logging("DEBUG", [settings.token, settings.data_key])
    root.addHandler(caplog.handler)
    caplog.handler.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.handlers[:], level, discord_level = saved
        root.setLevel(level)
        logging.getLogger("discord").setLevel(discord_level)


def error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def all_logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record as any handler would print it (message and traceback)."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(r) for r in caplog.records)


def assert_no_member_text(caplog: pytest.LogCaptureFixture) -> None:
    logged = all_logged(caplog)
    for fragment in ("my private words", "7f3a", "landlord", "can't cope"):
        assert fragment not in logged


async def test_an_unexpected_exception_answers_with_the_short_apology(
    world: World,
    failing: None,
    production_logging: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reply = await world.sam.run("/test-boom", text=MEMBER_TEXT, channel=world.channel)

    assert reply.ephemeral
    assert reply.content == SORRY
    assert "/crisis" in reply.content
    assert MEMBER_TEXT not in reply.text
    [record] = [r for r in error_records(caplog) if r.name == "bot.tree"]
    logged = record.getMessage()
    assert "Unhandled error in test-boom" in logged
    assert f"user {world.sam.id}" in logged and f"guild {world.guild.id}" in logged
    assert "ValueError" in logged
    assert "Traceback" not in logged or "line" in logged
    assert 'test_errors.py", line' in logged  # the stack is there: it can be debugged
    assert_no_member_text(caplog)


async def test_an_error_after_defer_is_answered_by_followup(
    world: World,
    failing: None,
    production_logging: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reply = await world.kai.run("/test-boom-late", text=MEMBER_TEXT, channel=world.channel)

    assert reply.deferred
    assert reply.ephemeral
    assert reply.content == SORRY, reply.describe()
    assert any("Unhandled error in test-boom-late" in r.getMessage() for r in error_records(caplog))
    assert_no_member_text(caplog)


async def test_an_error_after_an_answer_is_a_private_followup(
    world: World,
    failing: None,
    production_logging: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reply = await world.kai.run("/test-boom-after-answer", text=MEMBER_TEXT, channel=world.channel)
    followup = reply.followups[0] if reply.followups else await reply.next_followup()

    assert reply.content == "Working on it."
    assert followup.ephemeral
    assert followup.content == SORRY
    assert_no_member_text(caplog)


async def test_an_error_in_dms_is_answered_too(
    world: World,
    failing: None,
    production_logging: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reply = await world.noor.run("/test-boom", text=MEMBER_TEXT, dm=True)
    assert reply.content == SORRY
    assert_no_member_text(caplog)


async def test_a_failing_button_answers_with_the_apology(
    world: World,
    failing: None,
    production_logging: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    shown = await world.sam.run("/test-view", channel=world.channel)
    pressed = await world.sam.click("Explode", message=shown)

    assert pressed.ephemeral
    assert pressed.content == SORRY
    assert any("Unhandled error in component" in r.getMessage() for r in error_records(caplog))
    assert_no_member_text(caplog)


async def test_a_refusal_is_short_private_with_an_example_and_not_logged_as_an_error(
    world: World,
    failing: None,
    production_logging: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reply = await world.sam.run("/test-refuse", text="whenever", channel=world.channel)

    assert reply.ephemeral
    assert reply.content == "That date is not in the calendar.\nFor example: until:2026-12-24"
    assert error_records(caplog) == []


async def test_the_bot_keeps_working_after_errors(world: World, failing: None) -> None:
    for command in ("/test-boom", "/test-boom-late", "/test-boom-after-answer"):
        await world.sam.run(command, text=MEMBER_TEXT, channel=world.channel)
    shown = await world.sam.run("/test-view", channel=world.channel)
    exploded = await world.sam.click("Explode", message=shown)
    assert exploded.content == SORRY

    reply = await world.sam.run("/ping", channel=world.channel)
    assert "Circlekeeper is here" in reply.content
    crisis = await world.sam.run("/crisis", region="GB", channel=world.channel)
    assert crisis.embeds and "116 123" in crisis.text


async def test_the_bot_token_never_appears_in_logs(
    world: World, failing: None, caplog: pytest.LogCaptureFixture
) -> None:
    token = world.server.token
    with caplog.at_level(logging.DEBUG):
        await world.sam.run("/test-boom", text=MEMBER_TEXT, channel=world.channel)
        await world.kai.run("/test-boom-late", text=MEMBER_TEXT, channel=world.channel)
        await world.sam.run("/crisis", channel=world.channel)
        # A dropped gateway makes the client reconnect and resume with its token.
        await world.server.drop_gateway()
        await world.server.wait_until_connected()
        await asyncio.sleep(0.2)
        await world.sam.run("/ping", channel=world.channel)
        # A rate-limited request is logged by discord.py's HTTP client.
        world.server.force_rate_limit("POST /channels/{channel_id}/messages", count=1)
        channel = world.bot.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        await channel.send("A message after a rate limit.")

    assert any("rate limit" in r.getMessage().lower() for r in caplog.records)
    assert caplog.records, "nothing was captured: the check below would prove nothing"
    logged = all_logged(caplog)
    assert token not in logged
    for part in token.split("."):
        assert part not in logged
    assert str(world.bot.resources.settings.token) not in logged


def test_the_secret_filter_redacts_the_token_wherever_it_appears(world: World) -> None:
    token = world.server.token
    filt = SecretFilter([token, None])
    record = logging.LogRecord(
        "discord.http", logging.ERROR, __file__, 1, "Authorization: Bot %s failed", (token,), None
    )
    try:
        raise RuntimeError(f"bad token {token}")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    assert filt.filter(record)
    formatted = logging.Formatter().format(record)
    assert token not in formatted
    assert "[redacted]" in formatted
