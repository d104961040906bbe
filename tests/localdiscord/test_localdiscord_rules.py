"""Discord's rules enforced on the real client: limits, deadlines, DMs, threads, 429, gateway."""

from __future__ import annotations

import json
import zlib
from typing import Any

import aiohttp
import discord
import pytest
from conftest import World
from discord import app_commands

from bot.localdiscord import ReplyTimeout
from bot.localdiscord.state import SEND_MESSAGES


async def test_invalid_command_schema_rejected(world: World) -> None:
    guild = discord.Object(world.guild.id)

    @app_commands.command(description="ok")
    async def fine(interaction: discord.Interaction) -> None: ...

    fine.name = "Not Valid!"  # bypass discord.py's own name check
    world.bot.tree.add_command(fine, guild=guild)
    try:
        with pytest.raises(discord.HTTPException) as info:
            await world.bot.tree.sync(guild=guild)
        assert info.value.status == 400 and info.value.code == 50035
        assert world.server.sync_count(world.guild) == 1
        assert world.server.commands(world.guild) == []
    finally:
        world.bot.tree.remove_command("Not Valid!", guild=guild)


async def test_oversized_embed_rejected(world: World) -> None:
    channel = world.bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as info:
        await channel.send(embed=discord.Embed(title="x" * 300))
    assert info.value.code == 50035 and "title" in info.value.text


async def test_dm_open_send_and_closed(world: World) -> None:
    reply = await world.ada.run("/dm", member=world.sam)
    assert reply.content == "Sent"
    assert [m.content for m in world.sam.dms] == ["Hello Sam"]
    world.sam.dms_closed = True
    try:
        refused = await world.ada.run("/dm", member=world.sam)
        assert refused.content == "DMs closed (50007)"
        user = await world.bot.fetch_user(world.sam.id)
        with pytest.raises(discord.Forbidden) as info:
            await user.send("again")
        assert info.value.code == 50007
    finally:
        world.sam.dms_closed = False
    assert any(e.kind == "dm_refused" for e in world.server.transcript.events)


async def test_thread_creation(world: World) -> None:
    reply = await world.sam.run("/helpme", topic="sleep")
    assert reply.content.startswith("Opened <#")
    thread = world.guild.thread("help: sleep")
    assert thread.record.type == 12 and world.sam.id in thread.member_ids
    added, welcome = thread.messages
    assert added.type == 1 and added.mentions[0].id == world.sam.id  # "added Sam to the thread"
    assert welcome.content == f"Welcome <@{world.sam.id}>"
    assert welcome.mentions[0].id == world.sam.id
    assert world.bot.get_channel(thread.id) is not None  # THREAD_CREATE reached the cache


async def test_late_acknowledgement_refused(world: World) -> None:
    with pytest.raises(ReplyTimeout, match="10062"):
        await world.sam.run("/slow", timeout=1.0)
    await world.server.wait_for(lambda: world.bot.errors)
    error = world.bot.errors.pop()
    assert isinstance(error, discord.NotFound) and error.code == 10062


async def test_second_callback_refused(world: World) -> None:
    reply = await world.sam.run("/twice")
    assert reply.content == "first"
    await world.server.wait_for(lambda: world.bot.errors)
    error = world.bot.errors.pop()
    assert isinstance(error, discord.HTTPException) and error.code == 40060


async def test_forced_rate_limit_is_retried(world: World) -> None:
    before = world.server.ratelimiter.limited_count
    world.server.force_rate_limit("POST /channels/{channel_id}/messages", count=1, retry_after=0.05)
    await world.sam.run("/announce", text="rounds at 7")
    await world.server.wait_for(
        lambda: world.channel.last_message and world.channel.last_message.content == "rounds at 7"
    )
    assert world.server.ratelimiter.limited_count == before + 1


async def test_bot_lacking_send_permission(world: World) -> None:
    quiet = world.guild.create_text_channel("quiet")
    quiet.deny_bot(SEND_MESSAGES)
    await world.server.wait_for(lambda: world.bot.get_channel(quiet.id))
    channel = world.bot.get_channel(quiet.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.Forbidden) as info:
        await channel.send("hello")
    assert info.value.code == 50013


async def test_resume_after_drop(world: World) -> None:
    gateway = world.server.gateway
    assert gateway.identify_count == 1
    await world.server.drop_gateway()
    await world.server.wait_for(lambda: gateway.resume_count == 1)
    reply = await world.sam.run("/crisis", region="Germany")
    assert reply.embed is not None and reply.embed["title"] == "Crisis lines: Germany"
    assert gateway.identify_count == 1


async def test_gateway_zlib_and_plain(world: World) -> None:
    base = world.server.gateway_url
    async with aiohttp.ClientSession() as session:
        for compress in (True, False):
            url = base + (
                "?v=10&encoding=json&compress=zlib-stream" if compress else "?v=10&encoding=json"
            )
            async with session.ws_connect(url) as ws:
                inflate = zlib.decompressobj()

                async def receive(
                    ws: aiohttp.ClientWebSocketResponse = ws,
                    inflate: Any = inflate,
                    compress: bool = compress,
                ) -> Any:
                    msg = await ws.receive()
                    if msg.type == aiohttp.WSMsgType.BINARY:
                        assert compress and msg.data.endswith(b"\x00\x00\xff\xff")
                        return json.loads(inflate.decompress(msg.data))
                    assert not compress
                    return json.loads(msg.data)

                assert (await receive())["op"] == 10
                await ws.send_json(
                    {"op": 2, "d": {"token": world.server.token, "intents": 1, "properties": {}}}
                )
                ready = await receive()
                assert ready["t"] == "READY" and ready["d"]["guilds"][0]["unavailable"]
                created = await receive()
                assert created["t"] == "GUILD_CREATE" and created["d"]["name"] == "Sandbox"
                await ws.send_json({"op": 1, "d": 2})
                assert (await receive())["op"] == 11


async def test_bad_token_is_login_failure(world: World) -> None:
    client = discord.Client(intents=discord.Intents.none())
    try:
        with pytest.raises(discord.LoginFailure):
            await client.login("not-the-token")
    finally:
        await client.close()


async def test_unknown_route_is_json_404(world: World) -> None:
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bot {world.server.token}"}
        async with session.get(world.server.api_base + "/nope/1", headers=headers) as resp:
            assert resp.status == 404 and resp.headers["Content-Type"] == "application/json"
            assert await resp.json() == {"message": "404: Not Found", "code": 0}
    assert "GET /api/v10/nope/1" in world.server.unknown_routes


async def test_guild_join_and_removal(world: World) -> None:
    other = world.server.create_guild("Second")
    await world.server.wait_for(lambda: world.bot.get_guild(other.id))
    await world.server.remove_bot_from_guild(other)
    await world.server.wait_for(lambda: world.bot.get_guild(other.id) is None)
