"""Voice on the local server, driven by the real discord.py client: voice channels, voice
states and VOICE_STATE_UPDATE, the member-edit mute with its checks; and the per-channel
message-edit bucket."""

from __future__ import annotations

import discord
import pytest
from conftest import World

from bot.localdiscord import LocalDiscord
from bot.localdiscord.state import MUTE_MEMBERS

EDIT_ROUTE = "PATCH /channels/{channel_id}/messages/{message_id}"


async def test_voice_states_reach_the_bot_and_a_mute_needs_voice_and_the_permission(
    world: World,
) -> None:
    voice = world.guild.create_voice_channel("Lounge")
    bot, guild_id = world.bot, world.guild.id
    await world.server.wait_for(lambda: isinstance(bot.get_channel(voice.id), discord.VoiceChannel))
    channel = bot.get_channel(voice.id)
    assert isinstance(channel, discord.VoiceChannel)
    member = world.guild.add_member("Vee")
    await member.join_voice(voice)
    await world.server.wait_for(lambda: member.id in channel.voice_states)

    # Without Mute Members: 403, nothing changes
    world.guild.set_bot_permissions(0)
    with pytest.raises(discord.Forbidden) as refused:
        await bot.http.edit_member(guild_id, member.id, mute=True)
    assert refused.value.code == 50013 and not member.server_muted

    world.guild.set_bot_permissions(MUTE_MEMBERS)
    await bot.http.edit_member(guild_id, member.id, mute=True)
    assert member.server_muted
    await world.server.wait_for(lambda: channel.voice_states[member.id].mute)

    # the mute stays with them out of voice; out of voice they can't be unmuted
    await member.leave_voice()
    await world.server.wait_for(lambda: member.id not in channel.voice_states)
    with pytest.raises(discord.HTTPException) as absent:
        await bot.http.edit_member(guild_id, member.id, mute=False)
    assert (absent.value.status, absent.value.code) == (400, 40032)
    member_route = "PATCH /guilds/{guild_id}/members/{user_id}"
    assert world.server.refused[-1] == (member_route, 400, 40032)  # counted, as Discord does
    assert member.server_muted
    await member.join_voice(voice)
    await world.server.wait_for(lambda: member.id in channel.voice_states)
    assert channel.voice_states[member.id].mute  # still muted on the way back in
    await bot.http.edit_member(guild_id, member.id, mute=False)
    assert not member.server_muted
    with pytest.raises(discord.NotFound) as gone:
        await bot.http.edit_member(guild_id, 12345, mute=True)
    assert gone.value.code == 10007


def test_message_edits_share_one_bucket_per_channel() -> None:
    limiter = LocalDiscord().ratelimiter  # the default configuration, on a server of its own
    allowed = [not limiter.check(EDIT_ROUTE, "1").limited for _ in range(6)]
    assert allowed == [True] * 5 + [False]  # Discord's 5 per 5 s in a channel
    assert not limiter.check(EDIT_ROUTE, "2").limited  # another channel has its own
