"""What a restart must not lose: a form left open, and a server that left while the bot was
down. Each test runs two bots, one after the other, on one database and one local server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import discord.gateway
import discord.http
import pytest

from bot.clock import FakeClock
from bot.domain.checkins import Visibility
from bot.localdiscord import LocalDiscord
from bot.sandbox.harness import running_bot
from bot.services.privacy import GUILD_DATA_GRACE, PURGE_JOB_KIND
from bot.storage.repositories import circles as circles_repo
from bot.storage.repositories import guilds as guilds_repo
from bot.storage.repositories import jobs as jobs_repo
from tests.e2e.checkin_helpers import answers_of, rounds_of
from tests.e2e.strict import assert_spec_clean, strict_server


@pytest.fixture
async def server() -> AsyncIterator[LocalDiscord]:
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    try:
        async with strict_server() as local:
            yield local
            assert_spec_clean(local)
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Poll an async condition (a database read) until it holds."""
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 (the condition lives in the database)
            await asyncio.sleep(0.02)


async def test_a_form_opened_before_a_restart_saves_after_it(
    server: LocalDiscord, tmp_path: Path
) -> None:
    db_path, clock = tmp_path / "circlekeeper.db", FakeClock()
    guild = server.create_guild("Restarts")
    ada = guild.add_member("Ada", manage_guild=True)
    sam = guild.add_member("Sam")
    channel = guild.create_text_channel("circle")
    async with running_bot(server, db_path, clock=clock) as first:
        await server.wait_until_connected()
        services = first.resources.services
        circle = await services.circles.create(guild.id, "Restart", channel.id, None, ada.id)
        await services.circles.join(circle.id, sam.id)
        opened = await ada.run("/facilitate checkin now", circle="Restart", channel=channel)
        assert opened.content.startswith("Opened a round"), opened.describe()
        [prompt] = [m for m in channel.messages if m.buttons == ["Check in"]]
        form = await sam.click("Check in", message=prompt)
        assert form.modal is not None

    # A new bot on the same database: nothing of the first one's memory survives.
    async with running_bot(server, db_path, clock=clock) as second:
        reply = await sam.submit(form, mood="4", note="after the restart", who_sees_this="just me")
        assert reply.ephemeral and "Thank you" in reply.text, reply.describe()
        [round_] = await rounds_of(second, circle)
        [answer] = await answers_of(second, round_.id)
    assert (answer.mood, answer.note, answer.visibility) == (
        4,
        "after the restart",
        Visibility.SELF,
    )


async def test_a_server_that_removed_the_bot_while_it_was_down_is_purged_after_the_grace(
    server: LocalDiscord, tmp_path: Path
) -> None:
    db_path, clock = tmp_path / "circlekeeper.db", FakeClock()
    gone, stays = server.create_guild("Gone"), server.create_guild("Stays")
    for guild in (gone, stays):
        guild.create_text_channel("circle")
    async with running_bot(server, db_path, clock=clock) as first:
        await server.wait_until_connected()
        for guild in (gone, stays):
            await first.resources.services.circles.create(
                guild.id, "Circle", guild.channels[0].id, None, guild.owner.id
            )
    await server.remove_bot_from_guild(gone)  # no bot is connected to see it

    async with running_bot(server, db_path, clock=clock) as second:
        db = second.resources.db

        async def departure_noted() -> bool:
            async with db.read() as tx:
                return await guilds_repo.has_departed(tx, gone.id)

        await eventually(departure_noted)
        async with db.read() as tx:
            purge = await jobs_repo.get(tx, f"{PURGE_JOB_KIND}:{gone.id}")
            kept = await guilds_repo.has_departed(tx, stays.id)
        assert purge is not None and purge.run_at == clock.now() + GUILD_DATA_GRACE
        assert not kept  # the server the bot is still in is left alone


async def test_the_erase_question_can_be_answered_after_a_restart(
    server: LocalDiscord, tmp_path: Path
) -> None:
    db_path, clock = tmp_path / "circlekeeper.db", FakeClock()
    guild = server.create_guild("Erase")
    sam = guild.add_member("Sam")
    channel = guild.create_text_channel("circle")
    async with running_bot(server, db_path, clock=clock) as first:
        await server.wait_until_connected()
        circle = await first.resources.services.circles.create(
            guild.id, "Erase", channel.id, None, guild.owner.id
        )
        await first.resources.services.circles.join(circle.id, sam.id)
        asked = await sam.run("/privacy delete", channel=channel)
        assert asked.buttons == ["Erase everything", "Keep my data"], asked.describe()

    async with running_bot(server, db_path, clock=clock) as second:
        pressed = await sam.click("Erase everything", message=asked)
        done = await server.wait_for(
            lambda: (
                (pressed.message is not None and "Done." in pressed.message.content)
                and pressed.message
            ),
            message="for the erase to finish",
        )
        assert "Erased 1 record(s)" in done.content
        async with second.resources.db.read() as tx:
            assert await circles_repo.member_count(tx, circle.id) == 0
