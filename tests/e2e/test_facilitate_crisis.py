"""`/facilitate crisis` end to end: a server's default region, local resources and support alerts."""

from __future__ import annotations

from typing import Any

import pytest

from bot.checks import FACILITATOR_REFUSAL
from bot.domain.crisis import LOCAL_EXAMPLE
from bot.errors import ValidationError
from bot.localdiscord import CommandHidden, DriverError, Member
from bot.replies import SORRY
from bot.ui.crisis import ALERTS_NOTE, FROM_THIS_SERVER
from tests.e2e.conftest import World
from tests.e2e.embed_text import field_names, text_of

SUBCOMMANDS: list[tuple[str, dict[str, Any]]] = [
    ("/facilitate crisis region", {"region": "GB"}),
    ("/facilitate crisis add", {"name": "Sneaky Line", "how": "call 555-0199"}),
    ("/facilitate crisis remove", {"name": "Riverside Warmline"}),
    ("/facilitate crisis list", {}),
    ("/facilitate crisis alerts", {}),
]


async def stored_names(world: World) -> list[str]:
    return [r.name for r in await world.bot.resources.services.crisis.list_local(world.guild.id)]


async def listing(world: World) -> str:
    reply = await world.facilitator.run("/facilitate crisis list", channel=world.channel)
    assert reply.ephemeral
    return reply.text


# -- who may -------------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "options"), SUBCOMMANDS)
async def test_facilitate_crisis_is_hidden_from_a_plain_member(
    world: World, command: str, options: dict[str, Any]
) -> None:
    with pytest.raises(CommandHidden):
        await world.sam.run(command, channel=world.channel, **options)


@pytest.mark.parametrize(("command", "options"), SUBCOMMANDS)
async def test_facilitate_crisis_refuses_a_plain_member_at_run_time(
    world: World, command: str, options: dict[str, Any]
) -> None:
    before = await stored_names(world)
    reply = await world.sam.run(command, channel=world.channel, force=True, **options)

    assert reply.ephemeral
    assert reply.content == FACILITATOR_REFUSAL
    assert await stored_names(world) == before
    crisis = await world.sam.run("/crisis", channel=world.channel)
    assert crisis.embeds[0]["title"] == "Reach a person now — International"
    assert ALERTS_NOTE not in text_of(crisis.embeds)


async def test_facilitate_crisis_is_not_offered_in_dms(world: World) -> None:
    with pytest.raises(CommandHidden):
        await world.facilitator.run("/facilitate crisis list", dm=True)


async def test_the_facilitator_role_makes_a_member_a_facilitator(world: World) -> None:
    role = world.guild.add_role("Circle keepers")
    fran = world.guild.add_member("Fran", roles=[role])
    await world.server.wait_for(
        lambda: (
            (g := world.bot.get_guild(world.guild.id)) is not None
            and g.get_role(role.id) is not None
        )
    )
    refused = await fran.run("/facilitate crisis list", channel=world.channel, force=True)
    assert refused.content == FACILITATOR_REFUSAL

    # Only Manage Server may choose the role; a member shown /facilitate by a server
    # override is refused at run time.
    with pytest.raises(CommandHidden):
        await world.sam.run("/facilitate circle facilitator-role", role=role, channel=world.channel)
    refused_role = await world.sam.run(
        "/facilitate circle facilitator-role", role=role, channel=world.channel, force=True
    )
    assert refused_role.ephemeral and "Manage Server" in refused_role.content
    still_refused = await fran.run("/facilitate crisis list", channel=world.channel, force=True)
    assert still_refused.content == FACILITATOR_REFUSAL
    set_role = await world.facilitator.run(
        "/facilitate circle facilitator-role", role=role, channel=world.channel
    )
    assert set_role.ephemeral and "facilitators" in set_role.content, set_role.describe()

    # Discord still hides the command by default, so the server admin allows it: force=True.
    with pytest.raises(CommandHidden):
        await fran.run("/facilitate crisis list", channel=world.channel)
    allowed = await fran.run("/facilitate crisis list", channel=world.channel, force=True)
    assert allowed.ephemeral
    assert allowed.content != FACILITATOR_REFUSAL
    added = await fran.run(
        "/facilitate crisis add",
        name="Keepers Line",
        how="text 555-0111",
        channel=world.channel,
        force=True,
    )
    assert "Added **Keepers Line**" in added.content
    removed = await fran.run(
        "/facilitate crisis remove", name="keepers line", channel=world.channel, force=True
    )
    assert "Removed" in removed.content
    assert "Keepers Line" not in await stored_names(world)

    # A member without the role is still refused.
    still = await world.kai.run("/facilitate crisis list", channel=world.channel, force=True)
    assert still.content == FACILITATOR_REFUSAL


# -- region --------------------------------------------------------------------------------


async def test_region_sets_the_servers_default_for_crisis(world: World) -> None:
    reply = await world.facilitator.run(
        "/facilitate crisis region", region="new zealand", channel=world.channel
    )
    assert reply.ephemeral
    assert "**New Zealand**" in reply.content

    crisis = await world.sam.run("/crisis", channel=world.channel)
    assert crisis.embeds[0]["title"] == "Reach a person now — New Zealand"
    assert "1737" in text_of(crisis.embeds)

    back = await world.facilitator.run(
        "/facilitate crisis region", region="INTL", channel=world.channel
    )
    assert "**International**" in back.content
    crisis = await world.sam.run("/crisis", channel=world.channel)
    assert crisis.embeds[0]["title"] == "Reach a person now — International"


async def test_an_unknown_region_is_refused_with_an_example_and_nothing_changes(
    world: World,
) -> None:
    reply = await world.facilitator.run(
        "/facilitate crisis region", region="Narnia", channel=world.channel
    )
    assert reply.ephemeral
    assert "“Narnia” is not a region Circlekeeper knows" in reply.content
    assert "For example: region:GB" in reply.content
    assert SORRY not in reply.content
    crisis = await world.sam.run("/crisis", channel=world.channel)
    assert crisis.embeds[0]["title"] == "Reach a person now — International"


async def test_region_autocomplete_for_admins(world: World) -> None:
    choices = await world.facilitator.autocomplete(
        "/facilitate crisis region", "region", "ger", channel=world.channel
    )
    assert choices[0] == ("Germany (DE)", "DE")


# -- local resources -----------------------------------------------------------------------


async def test_list_is_empty_at_first_and_says_how_to_add(world: World) -> None:
    text = await listing(world)
    assert "No local resources yet" in text
    assert "/facilitate crisis add" in text


async def test_add_list_and_show_local_resources_after_the_shipped_lines(world: World) -> None:
    added = await world.facilitator.run(
        "/facilitate crisis add",
        name="Riverside Warmline",
        how="call 555-0100, 5pm–11pm",
        url="https://riverside.example.org/warmline",
        notes="Peer-run, for anyone in the county",
        channel=world.channel,
    )
    assert added.ephemeral
    assert "Added **Riverside Warmline**" in added.content
    await world.facilitator.run(
        "/facilitate crisis add",
        name="Campus Nightline",
        how="text 555-0101",
        channel=world.channel,
    )

    text = await listing(world)
    assert "**Riverside Warmline**: call 555-0100, 5pm–11pm" in text
    assert "<https://riverside.example.org/warmline>" in text
    assert "**Campus Nightline**: text 555-0101" in text

    crisis = await world.sam.run("/crisis", region="US", channel=world.channel)
    names = field_names(crisis.embeds)
    assert names.index("988 Suicide & Crisis Lifeline") < names.index(FROM_THIS_SERVER)
    assert names.index("SAMHSA National Helpline") < names.index(FROM_THIS_SERVER)
    assert names.index(FROM_THIS_SERVER) < names.index("Riverside Warmline")
    assert names.index("Riverside Warmline") < names.index("Campus Nightline")
    warmline = next(
        f["value"]
        for e in crisis.embeds
        for f in e.get("fields", [])
        if f["name"] == "Riverside Warmline"
    )
    assert "call 555-0100" in warmline
    assert "https://riverside.example.org/warmline" in warmline
    assert "Peer-run" in warmline

    # In DMs there is no server, so no local resources.
    dm = await world.sam.run("/crisis", region="US", dm=True)
    assert FROM_THIS_SERVER not in field_names(dm.embeds)


async def test_a_duplicate_name_is_refused(world: World) -> None:
    reply = await world.facilitator.run(
        "/facilitate crisis add", name="riverside   warmline", how="call 1", channel=world.channel
    )
    assert reply.ephemeral
    assert "already listed" in reply.content
    assert "For example:" in reply.content
    assert (await stored_names(world)).count("Riverside Warmline") == 1


async def test_remove_autocomplete_offers_the_servers_resources(world: World) -> None:
    choices = await world.facilitator.autocomplete(
        "/facilitate crisis remove", "name", "river", channel=world.channel
    )
    assert choices == [("Riverside Warmline", "Riverside Warmline")]


async def test_remove_takes_a_resource_off_crisis(world: World) -> None:
    reply = await world.facilitator.run(
        "/facilitate crisis remove", name="Campus Nightline", channel=world.channel
    )
    assert reply.ephemeral and "Removed **Campus Nightline**" in reply.content
    assert "Campus Nightline" not in await listing(world)
    crisis = await world.sam.run("/crisis", channel=world.channel)
    assert "Campus Nightline" not in field_names(crisis.embeds)
    assert "Riverside Warmline" in field_names(crisis.embeds)


async def test_removing_an_unknown_resource_is_refused(world: World) -> None:
    reply = await world.facilitator.run(
        "/facilitate crisis remove", name="Nope Line", channel=world.channel
    )
    assert reply.ephemeral
    assert "No local resource called “Nope Line”" in reply.content
    assert "For example: /facilitate crisis list" in reply.content


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"url": "ftp://files.example.org/lines"}, "The link must be a web address"),
        ({"url": "javascript:alert(1)"}, "The link must be a web address"),
        ({"url": "riverside.example.org"}, "The link must be a web address"),
        ({"notes": "Ping @everyone when busy"}, "can't contain @everyone"),
        ({"notes": "or @here"}, "can't contain @everyone"),
        ({"how": "ask <@&123456789012345678>"}, "can't contain @everyone"),
        ({"name": "@everyone line"}, "can't contain @everyone"),
        ({"name": "   "}, "Give the resource a name"),
    ],
)
async def test_bad_input_is_refused_with_an_example_and_nothing_is_stored(
    world: World, options: dict[str, Any], complaint: str
) -> None:
    given = {"name": "Bad Line", "how": "call 555-0102", **options}
    before = await stored_names(world)
    reply = await world.facilitator.run("/facilitate crisis add", channel=world.channel, **given)

    assert reply.ephemeral
    assert complaint in reply.content, reply.content
    assert f"For example: {LOCAL_EXAMPLE}" in reply.content
    assert SORRY not in reply.content
    assert reply.message is not None and reply.message.mentions == []
    assert await stored_names(world) == before
    assert "Bad Line" not in await listing(world)


async def test_an_over_long_name_never_reaches_storage(world: World) -> None:
    # Discord's client enforces the option's max_length (80) before anything is sent …
    with pytest.raises(DriverError, match=r"length must be 1\.\.80"):
        await world.facilitator.run(
            "/facilitate crisis add", name="N" * 81, how="call 555-0103", channel=world.channel
        )
    # … and the service refuses it too, with an example, for any other path in.
    with pytest.raises(ValidationError) as refused:
        await world.bot.resources.services.crisis.add_local(
            world.guild.id, "N" * 81, "call 555-0103", None, None
        )
    assert "keep it to 80" in refused.value.render()
    assert LOCAL_EXAMPLE in refused.value.render()
    assert "N" * 81 not in await listing(world)


async def test_a_server_can_list_at_most_ten_resources(world: World) -> None:
    existing = len(await stored_names(world))
    for n in range(10 - existing):
        reply = await world.facilitator.run(
            "/facilitate crisis add",
            name=f"Line {n}",
            how=f"call 555-01{n:02d}",
            channel=world.channel,
        )
        assert "Added" in reply.content
    over = await world.facilitator.run(
        "/facilitate crisis add", name="Line eleven", how="call 555-0111", channel=world.channel
    )
    assert "up to 10 local resources" in over.content
    assert "Line eleven" not in await stored_names(world)

    crisis = await world.sam.run("/crisis", region="US", channel=world.channel)
    assert all(len(e.get("fields", [])) <= 25 for e in crisis.embeds)
    assert "Line 0" in field_names(crisis.embeds)
    for n in range(10 - existing):
        await world.facilitator.run(
            "/facilitate crisis remove", name=f"Line {n}", channel=world.channel
        )
    assert await stored_names(world) == ["Riverside Warmline"]


async def test_crisis_still_answers_when_reading_local_resources_fails(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.storage.repositories import local_resources

    # A change through /facilitate crisis makes the next /crisis read the database again.
    await world.facilitator.run("/facilitate crisis region", region="GB", channel=world.channel)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk I/O error")

    monkeypatch.setattr(local_resources, "list_for", broken)
    reply = await world.sam.run("/crisis", region="GB", channel=world.channel)
    assert SORRY not in reply.text
    assert reply.embeds[0]["title"] == "Reach a person now — United Kingdom"
    assert "116 123" in text_of(reply.embeds)
    assert FROM_THIS_SERVER not in field_names(reply.embeds)

    monkeypatch.undo()
    await world.facilitator.run("/facilitate crisis region", region="INTL", channel=world.channel)
    again = await world.sam.run("/crisis", channel=world.channel)
    assert "Riverside Warmline" in field_names(again.embeds)


# -- support alerts ------------------------------------------------------------------------


async def _screen(world: World, member: Member, text: str) -> bool:
    concern = await world.bot.resources.services.safety.check(
        world.guild.id, member.id, text, "circle “Tuesday”"
    )
    return concern.show_card


async def test_alerts_are_off_by_default_and_nothing_is_posted(world: World) -> None:
    facilitators = world.guild.create_text_channel("facilitators")
    facilitators.hide_from_everyone()
    await world.server.wait_for(lambda: world.bot.get_channel(facilitators.id) is not None)

    assert await _screen(world, world.kai, "I want to end it all")
    assert facilitators.messages == []
    assert world.channel.messages == [] or all(
        "may want support" not in m.text for m in world.channel.messages
    )


async def test_alerts_on_post_a_private_note_naming_the_member_not_quoting_them(
    world: World,
) -> None:
    facilitators = world.guild.channel("facilitators")
    reply = await world.facilitator.run(
        "/facilitate crisis alerts", channel=world.channel, options={"channel": facilitators}
    )
    assert reply.ephemeral
    assert f"<#{facilitators.id}>" in reply.content
    assert "never what they wrote" in reply.content

    words = "honestly I want to end it all tonight"
    assert await _screen(world, world.kai, words)
    await world.server.wait_for(lambda: facilitators.messages, message="no support alert")
    [note] = facilitators.messages
    assert world.kai.mention in note.content
    assert "circle “Tuesday”" in note.content
    assert "Their words are not shared here" in note.content
    for fragment in ("end it all", "tonight", "honestly"):
        assert fragment not in note.text
    assert note.mentions == []  # named, not pinged
    assert all("may want support" not in m.text for m in world.channel.messages)

    # Text that does not match posts nothing.
    assert not await _screen(world, world.noor, "had a lovely walk today")
    assert len(facilitators.messages) == 1

    # Members are told on the crisis card that alerts are on.
    crisis = await world.sam.run("/crisis", channel=world.channel)
    assert ALERTS_NOTE in text_of(crisis.embeds)


async def test_alerts_off_stops_the_notes(world: World) -> None:
    facilitators = world.guild.channel("facilitators")
    before = len(facilitators.messages)
    reply = await world.facilitator.run("/facilitate crisis alerts", channel=world.channel)
    assert reply.ephemeral and reply.content == "Support alerts are off."

    assert await _screen(world, world.kai, "I want to end it all")
    assert len(facilitators.messages) == before
    crisis = await world.sam.run("/crisis", channel=world.channel)
    assert ALERTS_NOTE not in text_of(crisis.embeds)


async def test_a_failed_alert_still_shows_the_author_the_card(world: World) -> None:
    facilitators = world.guild.channel("facilitators")
    await world.facilitator.run(
        "/facilitate crisis alerts", channel=world.channel, options={"channel": facilitators}
    )
    facilitators.deny_bot(1 << 11)  # SEND_MESSAGES
    before = len(facilitators.messages)
    assert await _screen(world, world.kai, "I want to kill myself")
    assert len(facilitators.messages) == before


async def test_list_of_ten_resources_at_full_length_fits_discords_limits(world: World) -> None:
    other = world.server.create_guild("Long Names")
    admin = other.add_member("Long admin", manage_guild=True)
    member = other.add_member("Long member")
    other.create_text_channel("general")
    await world.server.wait_for(lambda: world.bot.get_guild(other.id) is not None)
    for n in range(10):
        reply = await admin.run(
            "/facilitate crisis add",
            name=f"{n} " + "Warmline_" * 8,
            how="call 555-0100 *any* time_" * 8,
            url="https://example.org/" + "a" * 270,
            notes="Peer-run_" * 33,
        )
        assert "Added" in reply.content, reply.describe()

    listed = await admin.run("/facilitate crisis list")
    assert listed.ephemeral
    assert SORRY not in listed.text, listed.describe()
    for n in range(10):
        assert f"{n} Warmline" in listed.text.replace("\\_", "_")

    crisis = await member.run("/crisis", region="US")
    assert SORRY not in crisis.text
    assert FROM_THIS_SERVER in field_names(crisis.embeds)


async def test_alerts_never_fire_for_negations_or_dms(world: World) -> None:
    facilitators = world.guild.channel("facilitators")
    facilitators.record.denied.pop(world.server.state.bot.id, None)
    await world.facilitator.run(
        "/facilitate crisis alerts", channel=world.channel, options={"channel": facilitators}
    )
    before = len(facilitators.messages)
    safety = world.bot.resources.services.safety

    assert not await _screen(world, world.noor, "I'm not suicidal, just tired")
    concern = await safety.check(None, world.kai.id, "I want to end it all", "a DM")
    assert concern.show_card  # the author still sees the card privately
    assert len(facilitators.messages) == before

    assert await _screen(world, world.noor, "i want to dieeee")
    await world.server.wait_for(lambda: len(facilitators.messages) == before + 1)
    assert world.noor.mention in facilitators.messages[-1].content
    assert "dieeee" not in facilitators.messages[-1].text


async def test_alerts_refuse_a_channel_everyone_can_see(world: World) -> None:
    public = world.guild.create_text_channel("lobby")
    await world.server.wait_for(lambda: world.bot.get_channel(public.id) is not None)
    reply = await world.facilitator.run(
        "/facilitate crisis alerts", channel=world.channel, options={"channel": public}
    )
    assert reply.ephemeral
    assert "visible to everyone" in reply.content
    assert "For example:" in reply.content
    assert await world.bot.resources.services.safety.alerts_channel(world.guild.id) != public.id
