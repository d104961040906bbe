"""Restarts lose nothing: persistent buttons keep working, commands are not re-synced needlessly."""

from __future__ import annotations

from pathlib import Path

import discord.gateway
import discord.http

from bot.clock import FakeClock
from bot.sandbox.harness import running_bot
from tests.e2e.strict import assert_spec_clean, strict_server


async def test_buttons_survive_a_restart_and_unchanged_commands_are_not_resynced(
    tmp_path: Path, database_target: str | Path
) -> None:
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    db_path = tmp_path / "restart.db"
    db_url = database_target if isinstance(database_target, str) else None
    clock = FakeClock()
    try:
        async with strict_server() as server:
            guild = server.create_guild("Sandbox")
            ada = guild.add_member("Ada", manage_guild=True)
            sam = guild.add_member("Sam")
            channel = guild.create_text_channel("circle")

            async with running_bot(server, db_path, clock=clock, db_url=db_url) as first:
                assert first.last_sync_skipped is False
                created = await ada.run(
                    "/facilitate circle create", name="Restart Circle", channel=channel
                )
                assert "Created" in created.content
                agreement = await sam.run("/circle join", circle="Restart Circle", channel=channel)
                assert agreement.buttons == ["I agree"]
            assert server.sync_count() == 1

            async with running_bot(server, db_path, clock=clock, db_url=db_url) as second:
                assert second.last_sync_skipped is True
                assert server.sync_count() == 1  # same definitions: no bulk overwrite
                joined = await sam.click("I agree", message=agreement)
                assert joined.ephemeral
                assert "Welcome to **Restart Circle**" in joined.content
                info = await sam.run("/circle info", channel=channel)
                assert info.embed is not None
                fields = {f["name"]: f["value"] for f in info.embed["fields"]}
                assert fields["Members"] == "1"
                assert fields["You"] == "a member"
            assert_spec_clean(server)
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


async def test_with_a_dev_guild_commands_sync_to_that_server_only(tmp_path: Path) -> None:
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    try:
        async with strict_server() as server:
            guild = server.create_guild("Dev")
            sam = guild.add_member("Sam")
            channel = guild.create_text_channel("general")
            async with running_bot(server, tmp_path / "dev.db", dev_guild_id=guild.id):
                assert server.sync_count() == 0
                assert {c.name for c in server.commands(guild)} >= {"crisis", "checkin", "circle"}
                reply = await sam.run("/ping", channel=channel)
                assert "Circlekeeper is here" in reply.content
            async with running_bot(server, tmp_path / "dev.db", dev_guild_id=guild.id) as again:
                assert again.last_sync_skipped is True
            assert server.sync_count(guild) == 1
            assert_spec_clean(server)
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
