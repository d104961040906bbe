"""Circles: create, find, join, leave, agreements, who facilitates."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from bot.clock import Clock
from bot.domain.circles import Circle, Round, validate_agreement, validate_circle_name
from bot.domain.schedule import parse_timezone
from bot.errors import NotAllowed, ValidationError
from bot.storage.database import Database
from bot.storage.repositories import checkins as checkins_repo
from bot.storage.repositories import circles as circles_repo
from bot.storage.repositories import guilds as guilds_repo
from bot.text import quote


@dataclass(frozen=True)
class CircleInfo:
    circle: Circle
    member_count: int
    is_member: bool
    next_round_at: datetime | None
    open_round: Round | None


class CircleService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def is_facilitator(
        self, guild_id: int, manage_guild: bool, role_ids: Collection[int]
    ) -> bool:
        if manage_guild:
            return True
        async with self._db.read() as tx:
            role = await guilds_repo.guild_setting(tx, guild_id, "facilitator_role_id")
        return role is not None and int(role) in set(role_ids)

    async def set_facilitator_role(self, guild_id: int, role_id: int) -> None:
        async with self._db.transaction() as tx:
            await guilds_repo.set_guild_setting(tx, guild_id, "facilitator_role_id", role_id)

    async def create(
        self, guild_id: int, name: str, channel_id: int, timezone: str | None, facilitator_id: int
    ) -> Circle:
        name = validate_circle_name(name)
        now = self._clock.now()
        async with self._db.transaction() as tx:
            if timezone:
                zone = parse_timezone(timezone)
            else:
                zone = await guilds_repo.guild_setting(tx, guild_id, "default_timezone") or "UTC"
            try:  # the unique index decides, so two concurrent creates cannot both pass
                circle = await circles_repo.create(tx, guild_id, name, channel_id, zone, now)
            except circles_repo.DuplicateCircle:
                raise ValidationError(
                    f"This server already has a circle called {quote(name)}. Choose another name.",
                    f"/facilitate circle create name:{name} (Thursdays)",
                ) from None
            await guilds_repo.set_guild_setting(tx, guild_id, "default_timezone", zone)
            await circles_repo.note_facilitator(tx, circle, facilitator_id, now)
        return circle

    async def resolve(self, guild_id: int, channel_id: int | None, name: str | None) -> Circle:
        """The named circle, else the circle bound to this channel; a clear refusal otherwise."""
        async with self._db.read() as tx:
            if name and name.strip():
                circle = await circles_repo.by_name(tx, guild_id, name)
                if circle is None:
                    known = await circles_repo.names(tx, guild_id, "", limit=5)
                    raise ValidationError(
                        f"There is no circle called {quote(name)} in this server."
                        + (
                            f" Circles here: {', '.join(known)}."
                            if known
                            else " Create one with `/facilitate circle create`."
                        ),
                        f"circle:{known[0]}"
                        if known
                        else "/facilitate circle create name:Tuesday Evenings",
                    )
                return circle
            here = await circles_repo.by_channel(tx, guild_id, channel_id) if channel_id else []
            if len(here) == 1:
                return here[0]
            known = await circles_repo.names(tx, guild_id, "", limit=5)
        if not known:
            raise ValidationError(
                "This server has no circles yet. A facilitator can create one.",
                "/facilitate circle create name:Tuesday Evenings",
            )
        raise ValidationError(
            "Which circle? Name it (this channel belongs to "
            + ("several" if here else "no")
            + " circle).",
            f"circle:{known[0]}",
        )

    async def names(self, guild_id: int, typed: str) -> list[str]:
        async with self._db.read() as tx:
            return await circles_repo.names(tx, guild_id, typed.strip())

    async def note_facilitator(self, circle: Circle, user_id: int) -> None:
        async with self._db.transaction() as tx:
            await circles_repo.note_facilitator(tx, circle, user_id, self._clock.now())

    async def set_agreement_of(self, circle_id: int, guild_id: int | None, text: str) -> Circle:
        """Save a circle's agreement; the circle must belong to the server asking."""
        agreement = validate_agreement(text)
        async with self._db.transaction() as tx:
            circle = await circles_repo.get(tx, circle_id)
            if circle is None or circle.guild_id != guild_id:
                raise ValidationError("That circle no longer exists.", "/circle info")
            await circles_repo.set_agreement(tx, circle.id, agreement)
        return circle

    async def join(self, circle_id: int, user_id: int) -> tuple[Circle, bool]:
        async with self._db.transaction() as tx:
            circle = await circles_repo.get(tx, circle_id)
            if circle is None:
                raise ValidationError("That circle no longer exists.", "/circle info")
            added = await circles_repo.add_member(tx, circle, user_id, self._clock.now())
        return circle, added

    async def leave(self, circle: Circle, user_id: int) -> None:
        async with self._db.transaction() as tx:
            if not await circles_repo.remove_member(tx, circle.id, user_id):
                raise NotAllowed(
                    f"You are not a member of “{circle.name}”.",
                    f"/circle join circle:{circle.name}",
                )

    async def is_member(self, circle_id: int, user_id: int) -> bool:
        async with self._db.read() as tx:
            return await circles_repo.is_member(tx, circle_id, user_id)

    async def info(self, circle: Circle, user_id: int) -> CircleInfo:
        async with self._db.read() as tx:
            count = await circles_repo.member_count(tx, circle.id)
            member = await circles_repo.is_member(tx, circle.id, user_id)
            open_round = await checkins_repo.open_round_of(tx, circle.id)
        next_at = circle.schedule.next_open_after(self._clock.now()) if circle.schedule else None
        return CircleInfo(circle, count, member, next_at, open_round)
