"""Opt-in voice muting end to end: the bot mutes everyone but the holder, lifts exactly the
mutes it placed (at the end, and when a member who left voice muted comes back), never
touches a mute someone else placed, and without Mute Members runs the round unmuted."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from bot.domain import talking_piece as tp
from bot.domain.talking_piece import Phase
from bot.localdiscord import Channel, Member
from bot.localdiscord.state import MUTE_MEMBERS
from bot.sandbox.harness import INVITE_PERMISSIONS
from bot.storage import member_data
from tests.e2e.conftest import World
from tests.e2e.talk_helpers import (
    board_of,
    board_settled,
    circle_with,
    live_id,
    start,
    state,
    until,
)


async def voice_room(world: World, members: list[Member]) -> Channel:
    voice = world.guild.create_voice_channel("Lounge")
    await world.server.wait_for(lambda: world.bot.get_channel(voice.id) is not None)
    for member in members:
        await member.join_voice(voice)
    return voice


def muted(members: list[Member]) -> set[str]:
    return {m.name for m in members if m.server_muted}


async def muting_round(world: World, name: str, members: list[Member]) -> tuple[Channel, int]:
    """A begun `mute_others` round of `members` (all in voice), the first holding the piece."""
    world.guild.set_bot_permissions(INVITE_PERMISSIONS | MUTE_MEMBERS)
    await circle_with(world.bot, world.guild.id, world.channel, name, members, world.facilitator)
    voice = await voice_room(world, members)
    board = await start(world.facilitator, voice, circle=name, order="members", mute_others=True)
    gid = await live_id(world.bot, voice)
    await world.facilitator.click("Begin", message=board)
    await until(world.bot, gid, lambda g: g.holder == members[0].id)
    await world.server.wait_for(lambda: muted(members) == {m.name for m in members[1:]})
    return voice, gid


async def rows_about(world: World, member: Member) -> dict[str, list[dict[str, Any]]]:
    async with world.bot.resources.db.read() as tx:
        return await member_data.export_member(tx, world.bot.resources.cipher, member.id)


async def erase(world: World, member: Member) -> str:
    reply = await member.run("/privacy delete", channel=world.channel)
    pressed = await member.click("Erase everything", message=reply)
    message = pressed.message
    assert message is not None, pressed.describe()
    await world.server.wait_for(lambda: message.content.startswith("Done."))
    return message.content


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


async def test_erasing_takes_a_member_out_of_the_round_and_their_owed_unmute_still_comes(
    world: World,
) -> None:
    sam, kai, noor = world.sam, world.kai, world.noor
    voice, gid = await muting_round(world, "Erase", [sam, kai, noor])
    # Noor, muted by the bot, leaves voice and erases her data: out of the round at once; the
    # unmute Discord won't take while she is out of voice is still owed (guild and id only)
    await noor.leave_voice()
    said = await erase(world, noor)
    assert "Kept until it is done: an unmute the bot owes you" in said
    g = await state(world.bot, gid)
    assert not g.mentions(noor.id) and "Noor" not in repr(g) and g.upcoming() == [kai.id]
    assert noor.server_muted
    owed = (await rows_about(world, noor))["talk_mutes"]
    assert [(r["guild_id"], r["gathering_id"]) for r in owed] == [(world.guild.id, 0)]
    # Sam, holding the piece, leaves voice and erases: the piece moves on, the board shows it
    await sam.leave_voice()
    assert (await erase(world, sam)).endswith("Nothing about you remains stored.")
    await until(world.bot, gid, lambda g: g.holder == kai.id and not g.mentions(sam.id))
    await board_settled(world.bot, gid)
    shown = board_of(voice).embed or {}
    assert f"<@{kai.id}>" in shown["description"] and f"<@{sam.id}>" not in shown["description"]
    await world.server.wait_for(lambda: not kai.server_muted)  # Kai holds the piece
    # back in voice (another channel), Noor is unmuted, and the last record of her goes
    hall = world.guild.create_voice_channel("Hall")
    await world.server.wait_for(lambda: world.bot.get_channel(hall.id) is not None)
    await noor.join_voice(hall)
    await world.server.wait_for(lambda: not noor.server_muted)
    for _ in range(250):
        if not await rows_about(world, noor):
            break
        await asyncio.sleep(0.02)
    assert await rows_about(world, noor) == {}


async def test_a_gathering_left_running_ends_as_abandoned_and_lifts_its_mutes(
    world: World,
) -> None:
    sam, kai = world.sam, world.kai
    voice, gid = await muting_round(world, "Idle", [sam, kai])
    await board_settled(world.bot, gid)
    await world.advance(tp.IDLE_AFTER - timedelta(minutes=1))
    assert (await state(world.bot, gid)).live
    await world.advance(timedelta(minutes=1))
    await until(world.bot, gid, lambda g: not g.live and g.abandoned)
    await world.server.wait_for(lambda: muted([sam, kai]) == set())
    await board_settled(world.bot, gid)
    shown = board_of(voice).embed or {}
    assert "Nothing happened on this board for 6 hours" in shown["description"]
