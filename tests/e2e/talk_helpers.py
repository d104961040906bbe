"""Shared steps for the talking-piece end-to-end tests (real bot, local server)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.domain.circles import Circle
from bot.domain.talking_piece import Gathering
from bot.localdiscord import Channel, Member
from bot.localdiscord.driver import Reply
from bot.localdiscord.state import Message
from bot.storage.repositories import talking_piece as talk_repo

if TYPE_CHECKING:
    from bot.app import CircleBot


async def circle_with(
    bot: CircleBot,
    guild_id: int,
    channel: Channel,
    name: str,
    members: list[Member],
    facilitator: Member,
) -> Circle:
    services = bot.resources.services
    circle = await services.circles.create(guild_id, name, channel.id, None, facilitator.id)
    for member in members:
        await services.circles.join(circle.id, member.id)
    return circle


def board_of(channel: Channel) -> Message:
    boards = [
        m for m in channel.messages if m.embed and "Talking piece" in m.embed.get("title", "")
    ]
    assert boards, f"no board in {channel}"
    return boards[-1]


async def start(facilitator: Member, channel: Channel, **options: Any) -> Message:
    reply = await facilitator.run("/facilitate talk start", channel=channel, **options)
    assert reply.ephemeral and "The board is up" in reply.content, reply.describe()
    return board_of(channel)


async def live_id(bot: CircleBot, channel: Channel) -> int:
    async with bot.resources.db.read() as tx:
        stored = await talk_repo.live_in_channel(tx, channel.id)
    assert stored is not None, "no live gathering"
    return stored.id


async def state(bot: CircleBot, gid: int) -> Gathering:
    stored = await bot.resources.services.talk.get(gid)
    assert stored is not None
    return stored.gathering


async def until(
    bot: CircleBot,
    gid: int,
    check: Callable[[Gathering], bool],
    timeout: float = 5.0,  # noqa: ASYNC109
) -> Gathering:
    """The gathering once `check` holds (a press is acknowledged before it is stored)."""
    deadline = time.monotonic() + timeout
    while True:
        g = await state(bot, gid)
        if check(g):
            return g
        if time.monotonic() > deadline:
            raise AssertionError(f"gathering never reached the expected state: {g}")
        await asyncio.sleep(0.02)


async def board_settled(bot: CircleBot, gid: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Wait until the board shows the stored state (edits are paced, so this can take a while)."""
    board = bot.resources.services.talk.board
    deadline = time.monotonic() + timeout
    while True:
        stored = await bot.resources.services.talk.get(gid)
        assert stored is not None
        shown = getattr(board, "shown", {}).get(gid)
        if shown == stored.version and not board.busy(gid):  # type: ignore[union-attr]
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"board never showed version {stored.version} (shows {shown})")
        await asyncio.sleep(0.02)


async def refusal(reply: Reply) -> str:
    """The private refusal a press got (it comes as a follow-up after the acknowledgement)."""
    if reply.response_type == 4:  # answered at once (no acknowledgement first)
        assert reply.ephemeral, reply.describe()
        return reply.text
    message = reply.followups[0] if reply.followups else await reply.next_followup()
    assert message.ephemeral, reply.describe()
    return message.text
