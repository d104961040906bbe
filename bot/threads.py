"""A private thread an outbox delivery opens for members it cannot DM (created once: the
thread's id and each member added are recorded as delivery steps)."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.delivery import TRANSIENT_ERRORS, delivery_failure
from bot.services.outbox import DeliveryFailed, DeliveryRun

ERRORS = (discord.HTTPException, *TRANSIENT_ERRORS)


async def private_thread(
    client: discord.Client,
    run: DeliveryRun,
    channel_id: int,
    name: str,
    user_ids: Sequence[int],
    *,
    add_step: str = "add",
) -> discord.Thread:
    """The delivery's private thread in `channel_id` (made on the first try), with every
    member of `user_ids` added. Steps: "thread", then f"{add_step}.{user_id}"."""
    try:
        channel = client.get_channel(channel_id) or await client.fetch_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            raise DeliveryFailed("no text channel for a private thread", permanent=True)
        thread_id = run.result("thread")
        if thread_id is None:
            thread = await channel.create_thread(
                name=name[:100], type=discord.ChannelType.private_thread, invitable=False
            )
            await run.record("thread", thread.id)
            thread_id = thread.id
        found = client.get_channel(thread_id) or await client.fetch_channel(thread_id)
        if not isinstance(found, discord.Thread):
            raise DeliveryFailed("the private thread is gone", permanent=True)
        for user_id in user_ids:
            if not run.done(f"{add_step}.{user_id}"):
                await found.add_user(discord.Object(user_id))
                await run.record(f"{add_step}.{user_id}")
    except ERRORS as error:
        raise delivery_failure(error) from error
    return found
