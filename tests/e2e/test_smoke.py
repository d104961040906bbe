"""The real bot logs in, syncs its commands, and answers through the local server."""

from tests.e2e.conftest import World


async def test_the_bot_syncs_every_command_and_answers_ping(world: World) -> None:
    names = {command.name for command in world.server.commands()}
    assert {"ping", "crisis", "facilitate", "privacy", "circle", "checkin"} <= names
    reply = await world.sam.run("/ping", channel=world.channel)
    assert reply.ephemeral
    assert "Circlekeeper is here" in reply.content
    assert world.server.unknown_routes == []
