"""Opt-in voice muting end to end: the bot mutes everyone but the holder, lifts exactly the
mutes it placed (at the end, and when a member who left voice muted comes back), never
touches a mute someone else placed, and without Mute Members runs the round unmuted."""

from __future__ import annotations

import asyncio

from bot.domain.talking_piece import Phase
from bot.localdiscord import Channel, Member
from bot.localdiscord.state import MUTE_MEMBERS
from bot.sandbox.harness import INVITE_PERMISSIONS
from tests.e2e.conftest import World
from tests.e2e.talk_helpers import board_settled, circle_with, live_id, until


async def voice_room(world: World, members: list[Member]) -> Channel:
    voice = world.guild.create_voice_channel("Lounge")
    await world.server.wait_for(lambda: world.bot.get_channel(voice.id) is not None)
    for member in members:
        await member.join_voice(voice)
    return voice


def muted(members: list[Member]) -> set[str]:
    return {m.name for m in members if m.server_muted}


async def test_muting_follows_the_piece_and_the_bot_lifts_only_its_own(world: World) -> None:
    sam, kai, noor = world.sam, world.kai, world.noor
    moderated = world.guild.add_member("Mo")
    moderated.record.mute = True  # muted by a moderator before the gathering
    everyone = [sam, kai, noor, moderated]
    world.guild.set_bot_permissions(INVITE_PERMISSIONS | MUTE_MEMBERS)
    await circle_with(
        world.bot, world.guild.id, world.channel, "Voice", [sam, kai, noor], world.facilitator
    )
    voice = await voice_room(world, everyone)
    reply = await world.facilitator.run(
        "/facilitate talk start", channel=voice, circle="Voice", order="members", mute_others=True
    )
    assert "The board is up" in reply.content and "without muting" not in reply.content
    board = next(m for m in voice.messages if m.embed and "Talking piece" in m.embed["title"])
    gid = await live_id(world.bot, voice)
    assert muted(everyone) == {"Mo"}  # nothing is muted while gathering
    await world.facilitator.click("Begin", message=board)
    await until(world.bot, gid, lambda g: g.holder == sam.id)
    await world.server.wait_for(lambda: muted(everyone) == {"Kai", "Noor", "Mo"})
    await board_settled(world.bot, gid)
    await sam.click("Done", message=board)
    await world.server.wait_for(lambda: muted(everyone) == {"Sam", "Noor", "Mo"})
    # Noor leaves voice while muted by the bot: the mute stays with her (Discord's rule)
    await noor.leave_voice()
    await board_settled(world.bot, gid)
    panel = await world.facilitator.click("Facilitator", message=board)
    await world.facilitator.click("End", message=panel)
    await until(world.bot, gid, lambda g: g.phase is Phase.ENDED)
    await world.server.wait_for(lambda: muted(everyone) == {"Noor", "Mo"})
    # back in voice, Noor is unmuted; Mo, muted by someone else, never is
    await noor.join_voice(voice)
    await world.server.wait_for(lambda: muted(everyone) == {"Mo"})
    talk = world.bot.resources.services.talk
    for _ in range(250):  # the record goes once Discord has confirmed the unmute
        if not await talk.muted_by_bot(world.guild.id):
            break
        await asyncio.sleep(0.02)
    assert await talk.muted_by_bot(world.guild.id) == set()
    # the bot never asked Discord to unmute Noor while she was out of voice (a 400 that Discord
    # counts against the bot's invalid requests)
    assert [r for r in world.server.refused if r[1:] == (400, 40032)] == []


async def test_without_mute_members_the_round_runs_unmuted(world: World) -> None:
    sam, kai = world.sam, world.kai
    await circle_with(
        world.bot, world.guild.id, world.channel, "Quiet", [sam, kai], world.facilitator
    )
    voice = await voice_room(world, [sam, kai])
    reply = await world.facilitator.run(
        "/facilitate talk start", channel=voice, circle="Quiet", order="members", mute_others=True
    )
    assert "The board is up" in reply.content and "without muting" in reply.content
    assert "Mute Members" in reply.content
    gid = await live_id(world.bot, voice)
    board = next(m for m in voice.messages if m.embed and "Talking piece" in m.embed["title"])
    await world.facilitator.click("Begin", message=board)
    await until(world.bot, gid, lambda g: g.holder == sam.id)
    await board_settled(world.bot, gid)
    assert muted([sam, kai]) == set()
    elsewhere = await world.facilitator.run(
        "/facilitate talk start", channel=world.channel, circle="Quiet", mute_others=True
    )
    assert "voice channel" in elsewhere.content and "For example:" in elsewhere.content
