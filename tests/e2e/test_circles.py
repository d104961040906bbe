"""`/circle …` end to end: the real bot through the local Discord server.

Tests in this module share one server and bot: each uses its own circle names.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import discord
import pytest

from bot.checks import FACILITATOR_REFUSAL
from bot.domain.circles import DEFAULT_AGREEMENT
from bot.localdiscord import CommandHidden
from bot.localdiscord.state import SEND_MESSAGES
from bot.storage.repositories import guilds as guilds_repo
from tests.e2e.checkin_helpers import circle_named, create_circle, join, member_ids
from tests.e2e.conftest import World


async def test_create_binds_a_circle_to_a_channel_with_its_zone(world: World) -> None:
    channel = world.guild.create_text_channel("create-circle")
    reply = await world.facilitator.run(
        "/facilitate circle create",
        channel=world.channel,
        options={"name": "Morning Pages", "channel": channel, "timezone": "europe/berlin"},
    )
    assert reply.ephemeral
    assert reply.content.startswith(
        f"Created **Morning Pages** in <#{channel.id}> (Europe/Berlin)."
    )
    circle = await circle_named(world.bot, world.guild.id, "Morning Pages")
    assert (circle.channel_id, circle.timezone, circle.agreement) == (
        channel.id,
        "Europe/Berlin",
        None,
    )
    assert circle.schedule is None
    # Without a zone, the server's last used one is the default; without a channel, this one.
    reply = await world.facilitator.run(
        "/facilitate circle create", name="Evening Pages", channel=channel
    )
    assert "(Europe/Berlin)" in reply.content
    other = world.guild.create_text_channel("here-circle")
    await world.facilitator.run("/facilitate circle create", name="Here And Now", channel=other)
    reply = await world.facilitator.run(
        "/facilitate circle create", name="Right Here", channel=other
    )
    assert reply.ephemeral and f"in <#{other.id}>" in reply.content
    assert (await circle_named(world.bot, world.guild.id, "Right Here")).channel_id == other.id
    assert channel.messages == [] and other.messages == []  # nothing public


async def test_create_refuses_a_duplicate_name_an_unknown_zone_and_a_mute_channel(
    world: World,
) -> None:
    channel = world.guild.create_text_channel("refusals-circle")
    await create_circle(world.facilitator, "Dupe Circle", channel)

    duplicate = await world.facilitator.run(
        "/facilitate circle create", name="dupe circle", channel=channel
    )
    assert duplicate.ephemeral
    assert "already has a circle called “dupe circle”" in duplicate.content
    assert "For example: /facilitate circle create" in duplicate.content

    mars = await world.facilitator.run(
        "/facilitate circle create", name="Mars Circle", channel=channel, timezone="Mars/Base"
    )
    assert mars.ephemeral
    assert "'Mars/Base' is not a time zone I know" in mars.content
    assert "For example: timezone:America/New_York" in mars.content

    mute = world.guild.create_text_channel("mute-circle")
    mute.deny_bot(SEND_MESSAGES)

    def bot_sees_the_denial() -> bool:
        cached = world.bot.get_channel(mute.id)
        guild = world.bot.get_guild(world.guild.id)
        return (
            isinstance(cached, discord.TextChannel)
            and guild is not None
            and not (cached.permissions_for(guild.me).send_messages)
        )

    await world.server.wait_for(bot_sees_the_denial)
    refused = await world.facilitator.run(
        "/facilitate circle create",
        channel=channel,
        options={"name": "Mute Circle", "channel": mute},
    )
    assert refused.ephemeral
    assert f"I can't post in <#{mute.id}>" in refused.content
    assert "Send Messages" in refused.content
    # Used in the mute channel itself, without naming it: Discord's app permissions decide.
    here = await world.facilitator.run("/facilitate circle create", name="Mute Here", channel=mute)
    assert here.ephemeral and f"I can't post in <#{mute.id}>" in here.content

    async with world.bot.resources.db.read() as tx:
        names = {r["name"] for r in await tx.fetchall("SELECT name FROM circles")}
    assert "Dupe Circle" in names
    assert not {"dupe circle", "Mars Circle", "Mute Circle", "Mute Here"} & names
    assert channel.messages == [] and mute.messages == []


async def test_create_is_for_facilitators_hidden_and_refused_at_run_time(world: World) -> None:
    # /facilitate is hidden from members; a server can override that, so the run-time
    # check decides.
    with pytest.raises(CommandHidden):
        await world.sam.run("/facilitate circle create", name="Sneaky", channel=world.channel)
    refused = await world.sam.run(
        "/facilitate circle create", name="Sneaky", channel=world.channel, force=True
    )
    assert refused.ephemeral and refused.content.startswith("Only facilitators can do that")
    async with world.bot.resources.db.read() as tx:
        assert await tx.scalar("SELECT COUNT(*) FROM circles WHERE name = 'Sneaky'") == 0


async def test_facilitator_role_lets_its_members_run_circles(world: World) -> None:
    role = world.guild.add_role("Circle Keepers")
    keeper = world.guild.add_member("Keeper", roles=[role])
    channel = world.guild.create_text_channel("keepers-circle")
    # Before the role is set, a run-time override is not enough.
    before = await keeper.run(
        "/facilitate circle create", name="Keepers", channel=channel, force=True
    )
    assert before.content.startswith("Only facilitators can do that")

    # Only Manage Server may set the role.
    denied = await keeper.run("/facilitate circle facilitator-role", role=role, force=True)
    assert denied.ephemeral and denied.content == FACILITATOR_REFUSAL

    reply = await world.facilitator.run("/facilitate circle facilitator-role", role=role)
    assert reply.ephemeral
    assert reply.content.startswith(f"Members with <@&{role.id}> are now facilitators.")
    async with world.bot.resources.db.read() as tx:
        stored = await guilds_repo.guild_setting(tx, world.guild.id, "facilitator_role_id")
    assert int(stored) == role.id

    after = await keeper.run(
        "/facilitate circle create", name="Keepers", channel=channel, force=True
    )
    assert after.ephemeral and after.content.startswith("Created **Keepers**")
    # A facilitator by role still needs Manage Server to choose the role.
    still_denied = await keeper.run(
        "/facilitate circle facilitator-role", role=role, channel=channel, force=True
    )
    assert still_denied.ephemeral
    assert still_denied.content.startswith("Only members with Manage Server")


async def test_agreement_has_a_default_and_is_edited_in_a_modal(world: World) -> None:
    channel = world.guild.create_text_channel("agreement-circle")
    await create_circle(world.facilitator, "Agreement Circle", channel)
    shown = await world.kai.run("/circle join", circle="Agreement Circle", channel=channel)
    assert shown.embed is not None and shown.embed["description"].startswith(DEFAULT_AGREEMENT)

    opened = await world.facilitator.run(
        "/facilitate circle agreement", circle="Agreement Circle", channel=channel
    )
    assert opened.modal is not None and opened.modal.labels == ["Agreement"]
    assert opened.modal.fields[0][1]["value"] == DEFAULT_AGREEMENT
    text = "• What is said here stays here.\n• Phones down, hearts open."
    saved = await world.facilitator.submit(opened, agreement=text)
    assert saved.ephemeral and saved.content.startswith(
        "Saved the agreement of **Agreement Circle**"
    )
    assert (await circle_named(world.bot, world.guild.id, "Agreement Circle")).agreement == text

    shown = await world.kai.run("/circle join", circle="Agreement Circle", channel=channel)
    assert shown.embed is not None and shown.embed["description"] == text

    # Mentions are refused and nothing changes.
    again = await world.facilitator.run(
        "/facilitate circle agreement", circle="Agreement Circle", channel=channel
    )
    bad = await world.facilitator.submit(again, agreement="@everyone come")
    assert bad.ephemeral and "can't contain @everyone" in bad.content
    assert (await circle_named(world.bot, world.guild.id, "Agreement Circle")).agreement == text

    refused = await world.kai.run(
        "/facilitate circle agreement", circle="Agreement Circle", channel=channel, force=True
    )
    assert refused.modal is None and refused.content.startswith("Only facilitators")


async def test_join_shows_the_agreement_and_i_agree_completes_it(world: World) -> None:
    channel = world.guild.create_text_channel("join-circle")
    await create_circle(world.facilitator, "Join Circle", channel)
    circle = await circle_named(world.bot, world.guild.id, "Join Circle")

    shown = await world.noor.run("/circle join", circle="Join Circle", channel=channel)
    assert shown.ephemeral
    assert shown.embed is not None and shown.embed["title"] == "The agreement of “Join Circle”"
    assert shown.buttons == ["I agree"]
    assert world.noor.id not in await member_ids(world.bot, circle)  # not yet

    done = await world.noor.click("I agree", message=shown)
    assert done.ephemeral
    assert done.content == f"Welcome to **Join Circle**. Check-ins are posted in <#{channel.id}>."
    assert world.noor.id in await member_ids(world.bot, circle)

    twice = await world.noor.click("I agree", message=shown)
    assert twice.content == "You are already a member of **Join Circle**."
    assert (await member_ids(world.bot, circle)).count(world.noor.id) == 1
    assert channel.messages == []

    # In the circle's channel, the circle option may be left out.
    shown = await world.kai.run("/circle join", channel=channel)
    assert shown.embed is not None and shown.embed["title"] == "The agreement of “Join Circle”"

    unknown = await world.kai.run("/circle join", circle="Nope Circle", channel=channel)
    assert unknown.ephemeral
    assert unknown.content.startswith("There is no circle called “Nope Circle” in this server.")


async def test_leave_removes_the_membership(world: World) -> None:
    channel = world.guild.create_text_channel("leave-circle")
    await create_circle(world.facilitator, "Leave Circle", channel)
    circle = await circle_named(world.bot, world.guild.id, "Leave Circle")
    await join(world.sam, "Leave Circle", channel)
    assert world.sam.id in await member_ids(world.bot, circle)

    left = await world.sam.run("/circle leave", channel=channel)
    assert left.ephemeral and left.content.startswith("You left **Leave Circle**.")
    assert world.sam.id not in await member_ids(world.bot, circle)

    again = await world.sam.run("/circle leave", circle="Leave Circle", channel=channel)
    assert again.ephemeral
    assert again.content.startswith("You are not a member of “Leave Circle”.")


async def test_info_shows_the_schedule_in_the_zone_and_as_a_timestamp(world: World) -> None:
    channel = world.guild.create_text_channel("info-circle")
    await create_circle(world.facilitator, "Info Circle", channel, timezone="America/New_York")
    await join(world.kai, "Info Circle", channel)

    bare = await world.kai.run("/circle info", channel=channel)
    assert bare.ephemeral and bare.embed is not None
    fields = {f["name"]: f["value"] for f in bare.embed["fields"]}
    assert fields["Members"] == "1"
    assert fields["You"] == "a member"
    assert fields["Check-in schedule"].startswith("No schedule")
    assert fields["Agreement"].startswith("• What is shared here stays here.")

    scheduled = await world.facilitator.run(
        "/facilitate checkin schedule",
        circle="Info Circle",
        days="mon,thu",
        time="19:00",
        channel=channel,
    )
    assert scheduled.ephemeral, scheduled.describe()
    info = await world.noor.run("/circle info", circle="Info Circle", channel=channel)
    fields = {f["name"]: f["value"] for f in info.embed["fields"]}  # type: ignore[index]
    assert fields["You"] == "not a member yet (`/circle join`)"
    schedule = fields["Check-in schedule"]
    assert schedule.startswith("Mon and Thu at 19:00 (America/New_York), open 1d")
    stamp = re.search(r"Next round: <t:(\d+):f> \(<t:\1:R>\)", schedule)
    assert stamp is not None, schedule
    circle = await circle_named(world.bot, world.guild.id, "Info Circle")
    assert circle.schedule is not None
    expected = circle.schedule.next_open_after(world.clock.now())
    assert int(stamp[1]) == int(expected.timestamp())
    local = datetime.fromtimestamp(int(stamp[1]), UTC).astimezone(circle.schedule.zone)
    assert (local.hour, local.minute, local.weekday() in (0, 3)) == (19, 0, True)


async def test_circle_options_autocomplete_over_this_servers_circles(world: World) -> None:
    channel = world.guild.create_text_channel("autocomplete-circle")
    await create_circle(world.facilitator, "Zebra Crossing", channel)
    await create_circle(world.facilitator, "Zebra Dawn", channel)
    other_guild = world.server.create_guild("Elsewhere")
    stranger = other_guild.add_member("Stranger", manage_guild=True)
    other_guild.create_text_channel("general")

    choices = await world.sam.autocomplete("/circle join", "circle", "zebra", channel=channel)
    assert choices == [("Zebra Crossing", "Zebra Crossing"), ("Zebra Dawn", "Zebra Dawn")]
    for command in (
        "/circle info",
        "/circle leave",
        "/facilitate checkin now",
        "/facilitate checkin schedule",
    ):
        got = await world.facilitator.autocomplete(command, "circle", "dawn", channel=channel)
        assert got == [("Zebra Dawn", "Zebra Dawn")], command
    assert await stranger.autocomplete("/circle join", "circle", "zebra") == []
    zones = await world.facilitator.autocomplete(
        "/facilitate circle create", "timezone", "new_y", name="x", channel=channel
    )
    assert ("America/New_York", "America/New_York") in zones
