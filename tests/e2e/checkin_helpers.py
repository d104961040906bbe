"""Shared steps for the circle and check-in end-to-end tests (real bot, local server)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.domain.checkins import CheckIn
from bot.domain.circles import Circle, Round
from bot.domain.schedule import RoundSchedule
from bot.localdiscord import Channel, Member
from bot.localdiscord.state import Message
from bot.storage.database import Tx
from bot.storage.repositories import checkins as checkins_repo
from bot.storage.repositories import circles as circles_repo
from bot.storage.repositories import jobs as jobs_repo
from bot.storage.repositories.jobs import StoredJob

if TYPE_CHECKING:
    from bot.app import CircleBot
    from bot.localdiscord import LocalDiscord


async def circle_named(bot: CircleBot, guild_id: int, name: str) -> Circle:
    async with bot.resources.db.read() as tx:
        circle = await circles_repo.by_name(tx, guild_id, name)
    assert circle is not None, f"no circle {name!r} stored"
    return circle


async def scheduled_circle(
    tx: Tx, guild_id: int, name: str, channel_id: int, schedule: RoundSchedule, due: datetime
) -> Circle:
    """A circle with a schedule whose opening timer is stored for `due` (seeded directly)."""
    circle = await circles_repo.create(tx, guild_id, name, channel_id, "UTC", datetime.now(UTC))
    await schedule_opening(tx, circle, schedule, due)
    return circle


async def schedule_opening(tx: Tx, circle: Circle, schedule: RoundSchedule, due: datetime) -> None:
    """Set the circle's schedule and store its opening timer for `due` (seeded directly)."""
    await circles_repo.set_schedule(tx, circle.id, schedule)
    job = StoredJob(
        f"checkin-open:{circle.id}", "checkin-open", due, {"circle_id": circle.id}, circle.guild_id
    )
    await jobs_repo.upsert(tx, job)


async def member_ids(bot: CircleBot, circle: Circle) -> list[int]:
    async with bot.resources.db.read() as tx:
        return await circles_repo.member_ids(tx, circle.id)


async def open_round(bot: CircleBot, circle: Circle) -> Round | None:
    async with bot.resources.db.read() as tx:
        return await checkins_repo.open_round_of(tx, circle.id)


async def rounds_of(bot: CircleBot, circle: Circle) -> list[Round]:
    async with bot.resources.db.read() as tx:
        rows = await tx.fetchall(
            "SELECT id FROM rounds WHERE circle_id = ? ORDER BY id", (circle.id,)
        )
        found = [await checkins_repo.get_round(tx, int(r["id"])) for r in rows]
    return [r for r in found if r is not None]


async def answers_of(bot: CircleBot, round_id: int) -> list[CheckIn]:
    async with bot.resources.db.read() as tx:
        return await checkins_repo.answers(tx, bot.resources.cipher, round_id)


async def create_circle(
    facilitator: Member,
    name: str,
    channel: Channel,
    *,
    timezone: str | None = None,
) -> None:
    options: dict[str, object] = {"name": name, "channel": channel}
    if timezone:
        options["timezone"] = timezone
    reply = await facilitator.run("/facilitate circle create", channel=channel, options=options)
    assert reply.ephemeral and reply.content.startswith(f"Created **{name}**"), reply.describe()


async def join(member: Member, name: str, channel: Channel) -> None:
    shown = await member.run("/circle join", circle=name, channel=channel)
    assert shown.ephemeral and shown.buttons == ["I agree"], shown.describe()
    done = await member.click("I agree", message=shown)
    assert done.ephemeral and done.content.startswith(f"Welcome to **{name}**"), done.describe()


def round_message(channel: Channel, round_: Round) -> Message:
    found = [m for m in channel.messages if m.id == round_.message_id]
    assert found, f"round {round_.id} has no posted message in {channel}"
    return found[0]


async def check_in(
    member: Member,
    prompt: Message,
    *,
    mood: str,
    who_sees_this: str,
    note: str | None = None,
) -> str:
    """Press Check in on `prompt`, fill the modal; the bot's private answer text."""
    modal = await member.click("Check in", message=prompt)
    assert modal.modal is not None, modal.describe()
    assert modal.modal.labels == ["Mood", "Note", "Who sees this"]
    fields: dict[str, Any] = {"mood": mood, "who_sees_this": who_sees_this}
    if note is not None:
        fields["note"] = note
    reply = await member.submit(modal, **fields)
    assert reply.ephemeral, reply.describe()
    return reply.text


def all_text_seen(server: LocalDiscord, *, besides: Member | None = None) -> str:
    """Every message text anyone but `besides` could see: channels, threads, other DMs."""
    state = server.state
    texts: list[str] = []
    for guild in state.guilds.values():
        for channel in guild.channels.values():
            texts += [m.text for m in channel.visible_messages()]
    for user_id, dm in state.dm_channels.items():
        if besides is None or user_id != besides.id:
            texts += [m.text for m in dm.visible_messages()]
    return "\n".join(texts)
