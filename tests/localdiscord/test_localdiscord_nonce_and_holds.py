"""Message nonces with `enforce_nonce`, and holding requests for crash tests, against the
real discord.py client."""

from __future__ import annotations

import asyncio

import discord
from conftest import World


async def send(world: World, content: str, nonce: str | None) -> discord.Message:
    channel = world.bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    if nonce is None:
        return await channel.send(content)
    return await channel.send(content, nonce=nonce)  # discord.py sets enforce_nonce with it


async def test_the_same_nonce_returns_the_first_message_instead_of_a_second(world: World) -> None:
    before = len(world.channel.messages)
    first = await send(world, "once", "nonce-a")
    again = await send(world, "once", "nonce-a")
    assert again.id == first.id
    assert len(world.channel.messages) == before + 1


async def test_without_a_nonce_or_after_the_window_a_new_message_is_made(world: World) -> None:
    before = len(world.channel.messages)
    await send(world, "twice", None)
    await send(world, "twice", None)
    assert len(world.channel.messages) == before + 2
    first = await send(world, "windowed", "nonce-b")
    saved = world.server.nonce_window
    world.server.nonce_window = 0.0  # Discord keeps a nonce only for a few minutes
    try:
        later = await send(world, "windowed", "nonce-b")
    finally:
        world.server.nonce_window = saved
    assert later.id != first.id


async def test_a_hold_before_stops_the_request_until_released(world: World) -> None:
    hold = world.server.hold("POST /channels/{channel_id}/messages", match="^held before$")
    task = asyncio.create_task(send(world, "held before", None))
    await hold.wait_caught()
    assert not any(m.content == "held before" for m in world.channel.messages)
    hold.release()
    sent = await task
    assert any(m.id == sent.id for m in world.channel.messages)


async def test_a_hold_after_stores_the_message_but_keeps_the_answer(world: World) -> None:
    hold = world.server.hold(
        "POST /channels/{channel_id}/messages", stage="after", match="^held after$"
    )
    task = asyncio.create_task(send(world, "held after", None))
    await hold.wait_caught()
    assert any(m.content == "held after" for m in world.channel.messages)  # Discord did it
    assert not task.done()  # the client has not heard
    hold.release()
    await task
