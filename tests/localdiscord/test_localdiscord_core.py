"""The local server against the real discord.py client: login, sync, commands, components."""

from __future__ import annotations

import pytest
from conftest import World

from bot.localdiscord import CommandHidden, CommandNotFound, format_event


async def test_login_and_sync(world: World) -> None:
    assert world.bot.user is not None and world.bot.user.id == world.server.application.id
    assert world.bot.application_id == world.server.application.id
    assert world.server.sync_count() == 1
    names = {c.name for c in world.server.commands()}
    assert {"crisis", "start", "settings", "ponder"} <= names
    assert world.bot.get_guild(world.guild.id) is not None


async def test_slash_command_round_trip(world: World) -> None:
    reply = await world.sam.run("/crisis", region="UK", urgent=True)
    assert reply.ephemeral
    assert reply.embed is not None and reply.embed["title"] == "Crisis lines: UK"
    assert reply.embed["fields"][0]["value"] == "True"
    assert reply.message not in world.channel.messages  # ephemeral: only Sam saw it


async def test_unknown_command_is_a_clear_error(world: World) -> None:
    with pytest.raises(CommandNotFound, match="crises"):
        await world.sam.run("/crises", region="UK")


async def test_subcommand_and_permissions(world: World) -> None:
    with pytest.raises(CommandHidden):
        await world.sam.run("/settings show", circle="Tuesday")
    reply = await world.ada.run("/settings show", circle="Tuesday")
    assert reply.content == "settings for Tuesday (manage_guild=True)"
    forced = await world.sam.run("/settings show", circle="Tuesday", force=True)
    assert forced.content.endswith("(manage_guild=False)")
    assert not forced.ephemeral and forced.message in world.channel.messages


async def test_resolved_user_and_channel_options(world: World) -> None:
    reply = await world.sam.run("/whois", member=world.ada, where=world.channel)
    assert reply.content == "Ada in #circle"


async def test_autocomplete(world: World) -> None:
    choices = await world.sam.autocomplete("/crisis", "region", "u")
    assert ("UK", "UK") in choices and ("Germany", "Germany") not in choices


async def test_button_modal_with_label_select(world: World) -> None:
    start = await world.sam.run("/start")
    assert start.buttons == ["Check in", "Done"]
    form = await world.sam.click("Check in", message=start)
    assert form.modal is not None and form.modal.labels == ["Mood", "Note", "Who sees this"]
    done = await world.sam.submit(form.modal, mood="3", note="ok", who_sees_this="just me")
    assert done.content == "mood=3 note=ok audience=['me']"
    assert done.ephemeral
    edited = await world.sam.click("Done")  # latest message in the channel that has it
    assert edited.content == "All done" and edited.components == []


async def test_defer_then_followups(world: World) -> None:
    reply = await world.sam.run("/ponder")
    assert reply.deferred and reply.content == "Pondered"
    assert [f.filename for f in reply.files] == ["notes.txt"] and reply.files[0].size > 0
    assert [m.content for m in reply.followups] == ["And one more"]
    assert reply.followups[0].ephemeral


async def test_transcript_renders(world: World) -> None:
    await world.sam.run("/crisis", region="UK")
    text = "\n".join(format_event(e) for e in world.server.transcript.events)
    assert "Sam ▸ /crisis region:UK" in text
    assert "only Sam sees this" in text
