"""Shared steps for the help-request end-to-end tests (real bot, local server)."""

from __future__ import annotations

from bot.localdiscord import Channel, Member, Reply
from bot.localdiscord.state import Message
from tests.e2e.checkin_helpers import create_circle, join
from tests.e2e.conftest import World, run_due


async def circle(world: World, name: str, *members: Member) -> Channel:
    channel = world.guild.create_text_channel(name.lower().replace(" ", "-"))
    await create_circle(world.facilitator, name, channel)
    for member in members:
        await join(member, name, channel)
    return channel


async def capacity(member: Member, channel: Channel, state: str, **options: object) -> Reply:
    reply = await member.run("/capacity", channel=channel, state=state, **options)
    assert reply.ephemeral, reply.describe()
    return reply


async def ask(
    member: Member,
    channel: Channel,
    *,
    kind: str = "practical",
    what: str = "A ride to my appointment",
    when: str | None = "Tuesday 2pm, Main St clinic",
    anonymous: bool = False,
) -> Reply:
    form = await member.run("/ask", channel=channel, kind=kind)
    assert form.modal is not None, form.describe()
    assert form.modal.labels == [
        "What you need",
        "When and where",
        "What would be enough",
        "Ask anonymously",
    ]
    fields: dict[str, object] = {"what_you_need": what}
    if when:
        fields["when_and_where"] = when
    if anonymous:
        fields["ask_anonymously"] = "yes"
    reply = await member.submit(form, **fields)
    assert reply.ephemeral and "Your ask is" in reply.text, reply.describe()
    return reply


def thread(channel: Channel) -> Channel:
    threads = channel.threads
    assert threads, f"no thread in {channel}"
    return threads[-1]


def opening(thread: Channel) -> Message:
    return thread.messages[0]


async def settle(world: World) -> None:
    await run_due(world.bot)
