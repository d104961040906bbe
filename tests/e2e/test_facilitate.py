"""`/facilitate` end to end: the command surface as synced, who sees and may run it, and
answers that stay inside Discord's limits however long the values typed.

These walk the definitions the bot synced to the local server, so a command or option added
later is covered without touching this file (or fails here, naming what to add).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.checks import FACILITATOR_REFUSAL
from bot.localdiscord import Channel, CommandHidden, CommandNotFound, DriverError, Reply
from bot.localdiscord.state import MANAGE_GUILD
from bot.text import MESSAGE_MAX, QUOTE_MAX
from tests.e2e.checkin_helpers import create_circle
from tests.e2e.conftest import World

SUBCOMMAND_TYPES = (1, 2)
STRING, ROLE = 3, 8
CLIENT_MAX = 6000  # what a Discord client sends in a string option without max_length

# The surface from the command guide (what is built so far): top-level command → leaves.
SURFACE = {
    "ping": {""},
    "crisis": {""},
    "privacy": {"export", "delete", "policy"},
    "circle": {"join", "leave", "info", "volunteer", "unvolunteer"},
    "checkin": {"history", "reminders", "pause", "resume"},
    "facilitate": {
        "circle create",
        "circle agreement",
        "circle facilitator-role",
        "checkin schedule",
        "checkin now",
        "checkin close",
        "crisis region",
        "crisis add",
        "crisis remove",
        "crisis list",
        "crisis alerts",
        "talk start",
        # circle care (issue 13)
        "circle roles",
        "resources approve",
        "resources remove",
        "resources approval",
        # help requests (issue 12)
        "circle help-channel",
        "circle gratitude-channel",
        "help reveal",
        "help balance",
        "help settings",
        # buddy pairing (issue 11)
        "buddies schedule",
        "buddies off",
        "buddies now",
        "buddies stats",
    },
    # circle care (issue 13)
    "crisisplan": {"edit", "view", "share", "delete"},
    "resources": {"add", "list", "search"},
    # help requests (issue 12)
    "ask": {""},
    "capacity": {""},
    "thanks": {""},
    "ledger": {""},
    "buddy": {"join", "leave", "snooze", "avoid", "unavoid", "current"},
}
OLD_NAMES = [
    "/crisis-admin region",
    "/crisis-admin add",
    "/crisis-admin remove",
    "/crisis-admin list",
    "/crisis-admin alerts",
    "/circle create",
    "/circle agreement",
    "/circle facilitator-role",
    "/checkin schedule",
    "/checkin now",
    "/checkin close",
]

CIRCLE = "Long Values"
# A valid value for each string option, so a long value in one option is what gets judged.
VALID: dict[str, str] = {
    "circle": CIRCLE,
    "days": "mon",
    "time": "19:00",
    "close_after": "12h",
    "name": "Long Values Line",
    "how": "call 555-0100",
    "url": "https://example.org",
    "notes": "evenings",
    "region": "GB",
    "timezone": "Europe/London",
    "setting": "on",
    "until": "2w",
    # circle care (issue 13)
    "role": "keeper",
    "words": "clinic",
    "entry": "1",
    # help requests (issue 12)
    "kind": "practical",
    "state": "available",
    "reason": "a safety concern",
    "every": "1w",
    "day": "mon",
}
# Where one option name takes different values in different commands.
VALID_FOR: dict[tuple[str, str], str] = {("/resources add", "kind"): "peer-group"}
INTEGER, USER, CHANNEL = 4, 6, 7


def leaves(world: World) -> Iterator[tuple[str, list[dict[str, Any]], dict[str, Any]]]:
    """(command path, its options, its top-level definition) for every synced command."""

    def walk(
        path: str, options: list[dict[str, Any]], top: dict[str, Any]
    ) -> Iterator[tuple[str, list[dict[str, Any]], dict[str, Any]]]:
        subs = [o for o in options if o.get("type") in SUBCOMMAND_TYPES]
        if not subs:
            yield path, options, top
        for sub in subs:
            yield from walk(f"{path} {sub['name']}", sub.get("options") or [], top)

    for scope in (None, world.guild.id):
        for command in world.server.commands(scope):
            if command.type == 1:
                yield from walk(f"/{command.name}", command.data.get("options") or [], command.data)


def required_values(path: str, options: list[dict[str, Any]], world: World) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for option in options:
        if not option.get("required"):
            continue
        if option["type"] == STRING:
            assert option["name"] in VALID, f"add a valid value for option {option['name']!r}"
            values[option["name"]] = VALID_FOR.get((path, option["name"]), VALID[option["name"]])
        elif option["type"] == ROLE:
            values[option["name"]] = world.guild.add_role("Long Values Role")
        # help requests (issue 12): an ask's number, a member, a channel
        elif option["type"] == INTEGER:
            values[option["name"]] = option.get("min_value", 1)
        elif option["type"] == USER:
            values[option["name"]] = world.sam
        elif option["type"] == CHANNEL:
            values[option["name"]] = world.channel
        else:
            raise AssertionError(f"add a valid value for option type {option['type']}")
    return values


def assert_fits(reply: Reply, what: str) -> None:
    """A modal, or private messages each within Discord's content limit."""
    if reply.modal is not None:
        return
    assert reply.messages, f"{what}: no answer ({reply.describe()})"
    for message in reply.messages:
        assert message.ephemeral, f"{what}: answered in public"
        assert len(message.content) <= MESSAGE_MAX, f"{what}: {len(message.content)} characters"
        assert message.content or message.embeds, f"{what}: an empty answer"


@pytest.fixture
async def circle_channel(world: World) -> Channel:
    channel = world.guild.create_text_channel("long-values")
    await create_circle(world.facilitator, CIRCLE, channel)
    return channel


def test_the_synced_surface_is_the_guides(world: World) -> None:
    synced: dict[str, set[str]] = {}
    for path, _, _ in leaves(world):
        top, _, rest = path.lstrip("/").partition(" ")
        synced.setdefault(top, set()).add(rest)
    assert synced == SURFACE


def test_facilitate_is_hidden_from_members_and_offered_only_in_servers(world: World) -> None:
    facilitate = next(c for c in world.server.commands() if c.name == "facilitate")
    assert int(facilitate.data["default_member_permissions"]) == MANAGE_GUILD
    assert facilitate.data["contexts"] == [0]
    for command in world.server.commands():
        if command.name != "facilitate":
            assert command.data.get("default_member_permissions") is None, command.name


@pytest.mark.parametrize("old", OLD_NAMES)
async def test_the_old_names_are_gone(world: World, old: str) -> None:
    with pytest.raises(CommandNotFound):
        await world.facilitator.run(old, channel=world.channel, force=True)


async def test_every_facilitate_command_is_hidden_and_refused_to_a_member(
    world: World, circle_channel: Channel
) -> None:
    promoted = world.guild.add_role("Server Managers", manage_guild=True)
    manager = world.guild.add_member("Morgan", roles=[promoted])
    checked = []
    for path, options, _ in leaves(world):
        if not path.startswith("/facilitate "):
            continue
        values = required_values(path, options, world)
        with pytest.raises(CommandHidden):
            await world.sam.run(path, channel=circle_channel, options=values)
        # A server can show /facilitate to anyone (Integrations); the run-time check decides.
        refused = await world.sam.run(path, channel=circle_channel, force=True, options=values)
        assert refused.modal is None, path
        assert refused.ephemeral and refused.content == FACILITATOR_REFUSAL, path
        # Manage Server through a role: Discord shows it and the bot lets it run.
        ran = await manager.run(path, channel=circle_channel, options=values)
        assert ran.content != FACILITATOR_REFUSAL, path
        checked.append(path)
    assert len(checked) == len(SURFACE["facilitate"])


async def test_every_string_option_is_bounded_and_every_answer_fits(
    world: World, circle_channel: Channel
) -> None:
    unbounded: list[str] = []
    answered = 0
    for path, options, _ in leaves(world):
        strings = [o for o in options if o["type"] == STRING]
        ready = required_values(path, options, world) if strings else {}
        for option in strings:
            what = f"{path} {option['name']}"
            limit = option.get("max_length")
            if limit is None:
                unbounded.append(what)
            for length in sorted({CLIENT_MAX, limit or CLIENT_MAX}):
                values = {**ready, option["name"]: "x" * length}
                if limit is not None and length > limit:
                    with pytest.raises(DriverError, match="length"):
                        await world.facilitator.run(path, channel=circle_channel, options=values)
                    continue
                reply = await world.facilitator.run(path, channel=circle_channel, options=values)
                assert_fits(reply, f"{what} ({length} characters)")
                answered += 1
    assert answered >= 15
    assert unbounded == [], f"string options without max_length: {unbounded}"


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("/circle info", {"circle": "y" * 100}),
        ("/facilitate checkin now", {"circle": "y" * 100}),
        ("/facilitate crisis remove", {"name": "y" * 160}),
        ("/facilitate crisis region", {"region": "y" * 100}),
    ],
)
async def test_refusals_quote_a_long_value_clipped(
    world: World, command: str, options: dict[str, str]
) -> None:
    reply = await world.facilitator.run(command, channel=world.channel, options=options)
    assert reply.ephemeral
    quoted = "y" * (QUOTE_MAX - 1) + "…"
    assert f"“{quoted}”" in reply.content, reply.content
    assert "y" * QUOTE_MAX not in reply.content


@pytest.mark.parametrize("region", ["!!!", "   ", "Narnia"])
async def test_an_unknown_default_region_is_refused_with_the_known_ones(
    world: World, region: str
) -> None:
    reply = await world.facilitator.run(
        "/facilitate crisis region", region=region, channel=world.channel
    )
    assert reply.ephemeral
    assert "is not a region Circlekeeper knows" in reply.content
    assert "None" not in reply.content
    assert "GB" in reply.content and reply.content.endswith("For example: region:GB")
