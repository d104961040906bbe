"""A row in every table the data-rights registry names, driven by the registry itself.

`seed_guild` writes one row in every `member_data.GUILD_TABLES` table that has no member
column (a circle, a round, settings, a local resource); `seed_member` writes one row about
a member in every `member_data.MEMBER_TABLES` table, in that guild. Each table needs a
recipe below: a table added to the registry without one raises `MissingRecipe` in every
test that seeds, so the export, delete and purge tests cannot silently skip a new table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.domain.checkins import Visibility
from bot.domain.circles import Circle, Round
from bot.domain.crisis import LocalResource
from bot.storage import member_data
from bot.storage.crypto import TextCipher
from bot.storage.database import Database, Tx
from bot.storage.repositories import buddies as buddies_repo
from bot.storage.repositories import checkins as checkins_repo
from bot.storage.repositories import circles as circles_repo
from bot.storage.repositories import dm_status, local_resources
from bot.storage.repositories import guilds as guilds_repo
from bot.storage.repositories import jobs as jobs_repo
from bot.storage.repositories import outbox as outbox_repo

SEEDED_AT = datetime(2026, 11, 21, 19, 0, tzinfo=UTC)


class MissingRecipe(AssertionError):
    """A registered table has no seeding recipe: add one to tests/member_data_seed.py."""


@dataclass(frozen=True)
class GuildSeed:
    guild_id: int
    circle: Circle
    round: Round


def note_of(user_id: int, guild_id: int) -> str:
    """The (encrypted) note `seed_member` stores for this member in this guild."""
    return f"seeded note of {user_id} in {guild_id}"


MemberRecipe = Callable[[Tx, TextCipher, GuildSeed, int], Awaitable[object]]
GuildRecipe = Callable[[Tx, int], Awaitable[object]]


async def _checkin(tx: Tx, cipher: TextCipher, seed: GuildSeed, user_id: int) -> None:
    await checkins_repo.upsert_answer(
        tx,
        cipher,
        checkins_repo.AnswerWrite(
            seed.round.id,
            user_id,
            seed.guild_id,
            2,
            note_of(user_id, seed.guild_id),
            Visibility.FACILITATORS,
            SEEDED_AT,
        ),
    )


MEMBER_RECIPES: dict[str, MemberRecipe] = {
    "reminders_sent": lambda tx, _c, seed, user: checkins_repo.claim_reminder(
        tx, seed.round.id, user
    ),
    "checkins": _checkin,
    "circle_facilitators": lambda tx, _c, seed, user: circles_repo.note_facilitator(
        tx, seed.circle, user, SEEDED_AT
    ),
    "circle_members": lambda tx, _c, seed, user: circles_repo.add_member(
        tx, seed.circle, user, SEEDED_AT
    ),
    "member_prefs": lambda tx, _c, _seed, user: checkins_repo.set_reminders(tx, user, True),
    "dm_status": lambda tx, _c, _seed, user: dm_status.mark_closed(tx, user, SEEDED_AT),
    "outbox": lambda tx, _c, seed, user: outbox_repo.enqueue(
        tx,
        "checkin-reminder",
        f"checkin-reminder:{seed.round.id}:{user}",
        SEEDED_AT,
        {"round_id": seed.round.id},
        guild_id=seed.guild_id,
        user_id=user,
    ),
    "buddy_optins": lambda tx, _c, seed, user: buddies_repo.join(
        tx, seed.circle.id, seed.guild_id, user, SEEDED_AT
    ),
    "buddy_avoid": lambda tx, _c, seed, user: buddies_repo.add_avoid(
        tx, seed.guild_id, user, AVOIDED_NON_MEMBER, SEEDED_AT
    ),
    "buddy_members": lambda tx, _c, seed, user: _buddy_member(tx, seed, user),
}
AVOIDED_NON_MEMBER = 4242  # not a seeded member: deleting one member leaves others' rows


async def _buddy_member(tx: Tx, seed: GuildSeed, user_id: int) -> None:
    cycle = await buddies_repo.running_cycle(tx, seed.circle.id)
    assert cycle is not None
    await buddies_repo.add_members(tx, cycle, [[user_id]], [])


# Tables of a guild with no member column. Circles and rounds are written first by
# `seed_guild` itself (every member recipe needs them).
GUILD_RECIPES: dict[str, GuildRecipe] = {
    "guild_settings": lambda tx, guild: guilds_repo.set_guild_setting(
        tx, guild, "crisis_region", "GB"
    ),
    "local_resources": lambda tx, guild: local_resources.add(
        tx, guild, LocalResource(f"Warmline {guild}", "call 555-0100")
    ),
    "scheduled_jobs": lambda tx, guild: jobs_repo.upsert(
        tx,
        jobs_repo.StoredJob(
            f"seeded:{guild}", "seeded", SEEDED_AT + timedelta(days=30), {}, guild_id=guild
        ),
    ),
    "buddy_schedules": lambda tx, guild: _buddy_schedule(tx, guild),
    "buddy_cycles": lambda tx, guild: _buddy_schedule(tx, guild, cycle=True),
}


async def _buddy_schedule(tx: Tx, guild_id: int, *, cycle: bool = False) -> None:
    circle_id = int(  # the circle seed_guild made (the server may have others)
        await tx.scalar(
            "SELECT id FROM circles WHERE guild_id = ? AND name = ?",
            (guild_id, f"Seeded {guild_id}"),
        )
    )
    if cycle:
        await buddies_repo.start_cycle(
            tx, circle_id, guild_id, "seeded", SEEDED_AT, SEEDED_AT + timedelta(days=7), 1
        )
    else:
        await buddies_repo.set_schedule(tx, circle_id, guild_id, 1, 0, SEEDED_AT.time())


PARENTS = ("circles", "rounds")


async def seed_guild(db: Database, guild_id: int, channel_id: int) -> GuildSeed:
    """A circle with one open round in this guild, and a row in every guild-only table."""
    member_tables = {entry.table for entry in member_data.MEMBER_TABLES}
    async with db.transaction() as tx:
        circle = await circles_repo.create(
            tx, guild_id, f"Seeded {guild_id}", channel_id, "UTC", SEEDED_AT
        )
        round_ = await checkins_repo.open_round(
            tx, circle, "seeded", "How are you?", SEEDED_AT, SEEDED_AT + timedelta(days=1)
        )
        assert round_ is not None
        for entry in member_data.GUILD_TABLES:
            if entry.table in PARENTS or entry.table in member_tables:
                continue  # written above, or by seed_member for each member
            recipe = GUILD_RECIPES.get(entry.table)
            if recipe is None:
                raise MissingRecipe(f"no seeding recipe for guild table {entry.table!r}")
            await recipe(tx, guild_id)
    return GuildSeed(guild_id, circle, round_)


async def seed_member(db: Database, cipher: TextCipher, seed: GuildSeed, user_id: int) -> None:
    """One row about this member in every registered member table, in this guild."""
    async with db.transaction() as tx:
        for entry in reversed(member_data.MEMBER_TABLES):  # parents before children
            recipe = MEMBER_RECIPES.get(entry.table)
            if recipe is None:
                raise MissingRecipe(f"no seeding recipe for member table {entry.table!r}")
            await recipe(tx, cipher, seed, user_id)


async def member_row_counts(db: Database, user_id: int) -> dict[str, int]:
    """Rows naming this member, per registered member table (counted in SQL, not exported)."""
    counts = {}
    async with db.read() as tx:
        for entry in member_data.MEMBER_TABLES:
            where = " OR ".join(f"{column} = ?" for column in entry.member_columns)
            counts[entry.table] = int(
                await tx.scalar(
                    f"SELECT COUNT(*) FROM {entry.table} WHERE {where}",
                    [user_id] * len(entry.member_columns),
                )
            )
    return counts


async def guild_row_counts(db: Database, guild_id: int) -> dict[str, int]:
    """Rows of this guild, per registered guild table."""
    async with db.read() as tx:
        return {
            entry.table: int(
                await tx.scalar(
                    f"SELECT COUNT(*) FROM {entry.table} WHERE {entry.guild_column} = ?",
                    (guild_id,),
                )
            )
            for entry in member_data.GUILD_TABLES
        }
