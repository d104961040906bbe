"""The bot holds exactly the README's invite permissions in the end-to-end tests."""

from __future__ import annotations

import re
from pathlib import Path

import discord

from bot.sandbox.harness import INVITE_PERMISSIONS
from tests.e2e.conftest import World

README = Path(__file__).parents[2] / "README.md"


def test_the_readme_names_the_permissions_its_integer_grants() -> None:
    text = " ".join(README.read_text(encoding="utf-8").split())
    listed = re.search(r"these permissions: (.+?) \(permission integer `(\d+)`\)", text)
    assert listed is not None, "the README's invite paragraph moved: update this test"
    names, integer = listed.group(1), int(listed.group(2))
    assert integer == INVITE_PERMISSIONS
    assert f"permissions={INVITE_PERMISSIONS}" in text  # the invite link itself
    flags = {
        "View Channels": "view_channel",
        "Send Messages": "send_messages",
        "Embed Links": "embed_links",
        "Attach Files": "attach_files",
        "Read Message History": "read_message_history",
        "Create Private Threads": "create_private_threads",
        "Send Messages in Threads": "send_messages_in_threads",
    }
    named = [n.strip() for n in re.split(r",\s*(?:and\s+)?", names)]
    assert sorted(named) == sorted(flags)
    assert discord.Permissions(**dict.fromkeys(flags.values(), True)).value == integer


async def test_the_bots_role_holds_exactly_the_invite_permissions(world: World) -> None:
    guild = world.bot.get_guild(world.guild.id)
    assert guild is not None
    assert guild.self_role is not None and guild.self_role.permissions.value == INVITE_PERMISSIONS
    assert not guild.me.guild_permissions.manage_threads
    assert not guild.me.guild_permissions.manage_messages
