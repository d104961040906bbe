"""A restart mid-round: same holder, same deadline, the board's buttons still work, and a
deadline that passed while the bot was down moves the piece exactly once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import discord.gateway
import discord.http

from bot.clock import FakeClock
from bot.domain.talking_piece import TurnEnd
from bot.localdiscord.state import MUTE_MEMBERS
from bot.sandbox.harness import INVITE_PERMISSIONS, running_bot
from tests.e2e.strict import assert_spec_clean, strict_server
from tests.e2e.talk_helpers import board_settled, circle_with, live_id, start, state, until


async def test_a_restart_mid_round_keeps_the_piece_and_its_deadline(
    tmp_path: Path, database_target: str | Path
) -> None:
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    db_path = tmp_path / "talk.db"
    db_url = database_target if isinstance(database_target, str) else None
    clock = FakeClock()
    try:
        async with strict_server() as server:
            guild = server.create_guild("Sandbox")
            ada = guild.add_member("Ada", manage_guild=True)
            sam, kai, noor = (guild.add_member(n) for n in ("Sam", "Kai", "Noor"))
            channel = guild.create_text_channel("circle")

            async with running_bot(server, db_path, clock=clock, db_url=db_url) as first:
                await circle_with(first, guild.id, channel, "Restart", [sam, kai, noor], ada)
                board = await start(ada, channel, minutes="3", order="members")
                gid = await live_id(first, channel)
                await ada.click("Begin", message=board)
                before = await until(first, gid, lambda g: g.holder == sam.id)
                await board_settled(first, gid)

            clock.advance(timedelta(minutes=1))
            async with running_bot(server, db_path, clock=clock, db_url=db_url) as second:
                after = await state(second, gid)
                assert (after.holder, after.deadline, after.turn) == (
                    before.holder,
                    before.deadline,
                    before.turn,
                )
                # the same message's Done button, pressed after the restart, works
                await sam.click("Done", message=board)
                moved = await until(second, gid, lambda g: g.holder == kai.id)
                assert moved.deadline == clock.now() + timedelta(minutes=3)
                await board_settled(second, gid)
                assert f"Holding the piece:** {kai.mention}" in board.text

            clock.advance(timedelta(minutes=5))  # Kai's deadline passes while the bot is down
            async with running_bot(server, db_path, clock=clock, db_url=db_url) as third:
                await third.resources.jobs.run_due()
                assert await third.resources.jobs.run_due() == 0  # applied once
                g = await until(third, gid, lambda g: g.holder == noor.id)
                assert [t.end for t in g.turns] == [TurnEnd.DONE, TurnEnd.TIMED_OUT]
                await board_settled(third, gid)
                assert f"Holding the piece:** {noor.mention}" in board.text
            assert_spec_clean(server)
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


async def test_mutes_placed_before_a_restart_are_lifted_after_it(
    tmp_path: Path, database_target: str | Path
) -> None:
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    db_path = tmp_path / "voice.db"
    db_url = database_target if isinstance(database_target, str) else None
    clock = FakeClock()
    try:
        async with strict_server() as server:
            guild = server.create_guild("Sandbox")
            guild.set_bot_permissions(INVITE_PERMISSIONS | MUTE_MEMBERS)
            ada = guild.add_member("Ada", manage_guild=True)
            sam, kai = (guild.add_member(n) for n in ("Sam", "Kai"))
            channel = guild.create_text_channel("circle")
            voice = guild.create_voice_channel("Lounge")
            for member in (sam, kai):
                await member.join_voice(voice)

            async with running_bot(server, db_path, clock=clock, db_url=db_url) as first:
                await circle_with(first, guild.id, channel, "Voice", [sam, kai], ada)
                reply = await ada.run(
                    "/facilitate talk start",
                    channel=voice,
                    circle="Voice",
                    order="members",
                    mute_others=True,
                )
                assert "The board is up" in reply.content
                board = [m for m in voice.messages if m.embed][-1]
                gid = await live_id(first, voice)
                await ada.click("Begin", message=board)
                await server.wait_for(lambda: kai.server_muted and not sam.server_muted)
                await board_settled(first, gid)

            await kai.leave_voice()  # while the bot is down: the mute stays with Kai
            async with running_bot(server, db_path, clock=clock, db_url=db_url) as second:
                await board_settled(second, gid)
                await sam.click("Done", message=board)  # Kai's turn: out of voice
                await until(second, gid, lambda g: g.holder == kai.id)
                await server.wait_for(lambda: sam.server_muted)
                panel = await ada.click("Facilitator", message=board)
                await ada.click("End", message=panel)
                await server.wait_for(lambda: not sam.server_muted)
                assert kai.server_muted  # out of voice: can't be unmuted yet
                await kai.join_voice(voice)
                await server.wait_for(lambda: not kai.server_muted)
            assert_spec_clean(server)
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


async def test_a_gathering_ended_just_before_a_kill_shows_the_end_after_the_restart(
    tmp_path: Path, database_target: str | Path
) -> None:
    """The end is stored, the process dies before the board is edited (its refresher waits
    for the channel's edit slot): the board must not keep showing a live round for ever."""
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    db_path = tmp_path / "talk.db"
    db_url = database_target if isinstance(database_target, str) else None
    clock = FakeClock()
    try:
        async with strict_server() as server:
            guild = server.create_guild("Sandbox")
            ada = guild.add_member("Ada", manage_guild=True)
            sam, kai = (guild.add_member(n) for n in ("Sam", "Kai"))
            channel = guild.create_text_channel("circle")

            async with running_bot(server, db_path, clock=clock, db_url=db_url) as first:
                await circle_with(first, guild.id, channel, "Ending", [sam, kai], ada)
                board = await start(ada, channel, order="members")
                gid = await live_id(first, channel)
                await ada.click("Begin", message=board)
                await until(first, gid, lambda g: g.holder == sam.id)
                await board_settled(first, gid)
                first.resources.services.talk.board.gap = 60.0  # type: ignore[union-attr]
                await sam.click("Done", message=board)  # edited now; the next edit waits 60 s
                await until(first, gid, lambda g: g.holder == kai.id)
                await board_settled(first, gid)
                panel = await ada.click("Facilitator", message=board)
                await ada.click("End", message=panel)
                await until(first, gid, lambda g: not g.live)
                assert "The gathering has ended" not in board.text  # the process stops here

            clock.advance(timedelta(minutes=10))  # past the lease of a delivery under way
            async with running_bot(server, db_path, clock=clock, db_url=db_url) as second:
                await second.resources.services.outbox.drain()
                await server.wait_for(lambda: "The gathering has ended" in board.text)
                assert board.buttons == ["Airtime (facilitator)"]
            assert_spec_clean(server)
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
