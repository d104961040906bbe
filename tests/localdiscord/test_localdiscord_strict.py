"""The local server as strict as Discord: the OpenAPI spec, realistic permissions, members,
thread-member rules, a server removed while the bot is offline, per-channel rate limits."""

from __future__ import annotations

from typing import Any

import aiohttp
import discord
import pytest
from conftest import World

from bot.localdiscord import CommandHidden, LocalDiscord
from bot.localdiscord.state import (
    ATTACH_FILES,
    DEFAULT_EVERYONE,
    EMBED_LINKS,
    MANAGE_GUILD,
    MANAGE_THREADS,
    SEND_MESSAGES_IN_THREADS,
)


async def _post(world: World, path: str, body: Any) -> tuple[int, dict[str, str], Any]:
    headers = {"Authorization": f"Bot {world.server.token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(world.server.api_base + path, json=body, headers=headers) as resp,
    ):
        return resp.status, dict(resp.headers), await resp.json(content_type=None)


def _text_channel(world: World, name: str) -> discord.TextChannel:
    channel = world.bot.get_channel(world.guild.channel(name).id)
    assert isinstance(channel, discord.TextChannel)
    return channel


# -- the OpenAPI spec ----------------------------------------------------------------------
async def test_a_body_the_spec_refuses_is_400_50035_and_recorded(world: World) -> None:
    channel = world.guild.create_text_channel("spec-checked")
    before = len(world.server.spec_violations)
    status, _, body = await _post(world, f"/channels/{channel.id}/messages", {"content": 5})
    assert status == 400 and body["code"] == 50035
    assert body["errors"]["content"]["_errors"][0]["code"] == "SPEC_TYPE"
    assert channel.messages == []
    (violation,) = world.server.spec_violations[before:]
    assert violation.route == "POST /channels/{channel_id}/messages"
    assert violation.errors[0][0] == "content"


async def test_discord_py_sees_the_spec_refusal_naming_the_field(world: World) -> None:
    channel = world.guild.create_text_channel("long-titles")
    await world.server.wait_for(lambda: world.bot.get_channel(channel.id))
    before = len(world.server.spec_violations)
    with pytest.raises(discord.HTTPException) as info:
        await _text_channel(world, "long-titles").send(embed=discord.Embed(title="x" * 257))
    assert info.value.status == 400 and info.value.code == 50035
    assert "embeds.0.title" in info.value.text and "256 or fewer" in info.value.text
    (violation,) = world.server.spec_violations[before:]
    assert violation.errors == [("embeds/0/title", "Must be 256 or fewer in length.")]


async def test_int_strings_and_integer_snowflakes_pass_as_the_docs_allow(world: World) -> None:
    channel = world.guild.create_text_channel("docs-win")
    before = len(world.server.spec_violations)
    body = {"content": "hi", "nonce": "2727782391811642237", "flags": "4096"}
    status, _, _ = await _post(world, f"/channels/{channel.id}/messages", body)
    assert status == 200 and world.server.spec_violations[before:] == []


# -- permissions -----------------------------------------------------------------------------
async def test_everyone_gets_discords_default_set_not_every_permission(world: World) -> None:
    sam = world.guild.add_member("Plain member")
    assert sam.permissions == DEFAULT_EVERYONE
    assert not sam.permissions & (MANAGE_GUILD | MANAGE_THREADS)
    roles = await world.bot.get_guild(world.guild.id).fetch_roles()  # type: ignore[union-attr]
    everyone = next(r for r in roles if r.is_default())
    assert everyone.permissions.value == DEFAULT_EVERYONE


async def test_manage_server_comes_through_a_role_that_can_be_taken_away(world: World) -> None:
    kim = world.guild.add_member("Kim", manage_guild=True)
    (role,) = kim.roles
    assert role.permissions & MANAGE_GUILD
    reply = await kim.run("/settings show", circle="Tuesday")
    assert reply.content.endswith("(manage_guild=True)")
    kim.remove_role(role)
    with pytest.raises(CommandHidden):
        await kim.run("/settings show", circle="Tuesday")
    forced = await kim.run("/settings show", circle="Tuesday", force=True)
    assert forced.content.endswith("(manage_guild=False)")


async def test_member_lookup_returns_roles_then_10007_once_they_leave(world: World) -> None:
    lee = world.guild.add_member("Lee", manage_guild=True)
    guild = world.bot.get_guild(world.guild.id)
    assert guild is not None
    member = await guild.fetch_member(lee.id)
    assert [r.id for r in member.roles if not r.is_default()] == [lee.roles[0].id]
    assert member.guild_permissions.manage_guild
    world.guild.remove_member(lee)
    with pytest.raises(discord.NotFound) as info:
        await guild.fetch_member(lee.id)
    assert info.value.code == 10007


async def test_embeds_need_embed_links_and_files_need_attach_files(world: World) -> None:
    plain = world.guild.create_text_channel("no-embeds")
    plain.deny_bot(EMBED_LINKS | ATTACH_FILES)
    await world.server.wait_for(lambda: world.bot.get_channel(plain.id))
    channel = _text_channel(world, "no-embeds")
    embed = discord.Embed(title="Crisis lines")
    with pytest.raises(discord.HTTPException) as empty:
        await channel.send(embed=embed)
    assert empty.value.code == 50006  # the embed is dropped: nothing is left to send
    sent = await channel.send("see below", embed=embed)
    assert sent.embeds == [] and plain.last_message is not None
    assert plain.last_message.embeds == []
    with pytest.raises(discord.Forbidden) as files:
        await channel.send(file=discord.File(__file__, filename="notes.txt"))
    assert files.value.code == 50013
    # An interaction answer is a webhook message: the bot's channel permissions don't apply.
    reply = await world.sam.run("/crisis", region="UK", channel=plain)
    assert reply.embed is not None and reply.embed["title"] == "Crisis lines: UK"


# -- thread members ---------------------------------------------------------------------------
async def _private_thread(world: World, name: str, *, invitable: bool = True) -> discord.Thread:
    parent = world.guild.create_text_channel(name)
    await world.server.wait_for(lambda: world.bot.get_channel(parent.id))
    channel = _text_channel(world, name)
    return await channel.create_thread(
        name=f"{name} thread", type=discord.ChannelType.private_thread, invitable=invitable
    )


async def test_adding_a_member_posts_the_notice_everyone_in_the_thread_sees(
    world: World,
) -> None:
    thread = await _private_thread(world, "notice")
    await thread.add_user(discord.Object(world.sam.id))
    record = world.server.channel(thread.id)
    (notice,) = record.messages
    assert notice.type == 1 and [u.id for u in notice.mentions] == [world.sam.id]
    assert world.sam.id in record.member_ids


async def test_thread_member_changes_are_permission_checked(world: World) -> None:
    thread = await _private_thread(world, "mute-door")
    world.guild.channel("mute-door").deny_bot(SEND_MESSAGES_IN_THREADS | MANAGE_THREADS)
    with pytest.raises(discord.Forbidden) as cannot_send:
        await thread.add_user(discord.Object(world.sam.id))
    assert cannot_send.value.code == 50013
    assert world.sam.id not in world.server.channel(thread.id).member_ids

    other = await _private_thread(world, "not-mine")
    await other.add_user(discord.Object(world.sam.id))
    world.server.channel(other.id).record.owner_id = world.ada.id  # someone else's thread
    world.guild.channel("not-mine").deny_bot(MANAGE_THREADS)
    with pytest.raises(discord.Forbidden) as cannot_remove:
        await other.remove_user(discord.Object(world.sam.id))
    assert cannot_remove.value.code == 50013
    assert world.sam.id in world.server.channel(other.id).member_ids


async def test_no_member_is_added_to_an_archived_thread(world: World) -> None:
    thread = await _private_thread(world, "archived")
    await thread.edit(archived=True)
    with pytest.raises(discord.HTTPException) as info:
        await thread.add_user(discord.Object(world.sam.id))
    assert info.value.code == 50083


# -- a server removed while the bot is offline -------------------------------------------------
async def _identify(server: LocalDiscord, ws: aiohttp.ClientWebSocketResponse) -> list[Any]:
    assert (await ws.receive_json())["op"] == 10
    await ws.send_json({"op": 2, "d": {"token": server.token, "intents": 1, "properties": {}}})
    ready = await ws.receive_json()
    events = [ready]
    for _ in ready["d"]["guilds"]:
        events.append(await ws.receive_json())
    return events


async def test_a_server_removed_while_the_bot_is_offline_is_gone_when_it_returns() -> None:
    async with LocalDiscord() as server, aiohttp.ClientSession() as session:
        kept, removed = server.create_guild("Kept"), server.create_guild("Removed")
        async with session.ws_connect(server.gateway_url + "?v=10&encoding=json") as ws:
            ready, *created = await _identify(server, ws)
            assert {g["d"]["id"] for g in created} == {str(kept.id), str(removed.id)}
            session_id, seq = ready["d"]["session_id"], created[-1]["s"]
        assert not server.gateway.connections  # offline now
        await server.remove_bot_from_guild(removed)

        async with session.ws_connect(server.gateway_url + "?v=10&encoding=json") as ws:
            assert (await ws.receive_json())["op"] == 10
            resume = {"token": server.token, "session_id": session_id, "seq": seq}
            await ws.send_json({"op": 6, "d": resume})
            missed = await ws.receive_json()
            assert missed["t"] == "GUILD_DELETE" and missed["d"] == {"id": str(removed.id)}
            assert (await ws.receive_json())["t"] == "RESUMED"

        async with session.ws_connect(server.gateway_url + "?v=10&encoding=json") as ws:
            ready, *created = await _identify(server, ws)
            assert ready["d"]["guilds"] == [{"id": str(kept.id), "unavailable": True}]
            assert [g["d"]["id"] for g in created] == [str(kept.id)]

        headers = {"Authorization": f"Bot {server.token}"}
        async with session.get(f"{server.api_base}/guilds/{removed.id}", headers=headers) as r:
            assert r.status == 403 and (await r.json(content_type=None))["code"] == 50001


# -- rate limits -----------------------------------------------------------------------------
async def test_message_sends_are_limited_to_five_per_five_seconds_per_channel(
    world: World,
) -> None:
    busy = world.guild.create_text_channel("busy")
    quiet = world.guild.create_text_channel("quiet-neighbour")
    results = [
        await _post(world, f"/channels/{busy.id}/messages", {"content": "hi"}) for _ in range(6)
    ]
    assert [status for status, _, _ in results] == [200] * 5 + [429]
    first_headers, (_, limited_headers, limited) = results[0][1], results[-1]
    assert first_headers["X-RateLimit-Limit"] == "5"
    assert first_headers["X-RateLimit-Remaining"] == "4"
    assert float(first_headers["X-RateLimit-Reset-After"]) <= 5.0
    assert limited_headers["X-RateLimit-Scope"] == "user" and limited["retry_after"] > 0
    assert limited["global"] is False
    status, _, _ = await _post(world, f"/channels/{quiet.id}/messages", {"content": "hi"})
    assert status == 200  # buckets are per channel
    assert len(busy.messages) == 5
