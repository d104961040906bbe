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

from bot.domain import talking_piece
from bot.domain.checkins import Visibility
from bot.domain.circles import Circle, Round
from bot.domain.crisis import LocalResource
from bot.domain.crisisplan import encode_part
from bot.domain.help_requests import Ask, AskText, Capacity, CapacityState, Kind
from bot.domain.resources import Draft
from bot.storage import member_data
from bot.storage.crypto import TextCipher
from bot.storage.database import Database, Tx
from bot.storage.repositories import buddies as buddies_repo
from bot.storage.repositories import checkins as checkins_repo
from bot.storage.repositories import circles as circles_repo
from bot.storage.repositories import crisisplan as crisisplan_repo
from bot.storage.repositories import dm_status, local_resources
from bot.storage.repositories import guilds as guilds_repo
from bot.storage.repositories import help_requests as help_repo
from bot.storage.repositories import jobs as jobs_repo
from bot.storage.repositories import outbox as outbox_repo
from bot.storage.repositories import resources as resources_repo
from bot.storage.repositories import roles as roles_repo
from bot.storage.repositories import talking_piece as talk_repo

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


async def _talk_gathering(tx: Tx, guild_id: int) -> None:
    circle = await circles_repo.by_name(tx, guild_id, f"Seeded {guild_id}")  # seed_guild's
    assert circle is not None
    start = talking_piece.start(talking_piece.Options(), 1, SEEDED_AT)
    await talk_repo.create(tx, guild_id, circle.id, circle.channel_id, start)


async def _talk_airtime(tx: Tx, seed: GuildSeed, user_id: int) -> None:
    gathering = await talk_repo.live_in_channel(tx, seed.circle.channel_id)
    assert gathering is not None, "seed_guild writes a gathering first"
    await talk_repo.record_airtime(
        tx, gathering.id, seed.guild_id, {user_id: (1, timedelta(minutes=3))}
    )


async def _role_holder(tx: Tx, _cipher: TextCipher, seed: GuildSeed, user_id: int) -> None:
    cycle = await roles_repo.start_cycle(tx, seed.circle, f"seeded:{user_id}", SEEDED_AT)
    assert cycle is not None
    await roles_repo.set_holder(tx, cycle, "keeper", user_id, None, None)


async def _role_pass(tx: Tx, _cipher: TextCipher, seed: GuildSeed, user_id: int) -> None:
    cycle = await roles_repo.start_cycle(tx, seed.circle, f"passed:{user_id}", SEEDED_AT)
    assert cycle is not None
    await roles_repo.add_pass(tx, cycle, "keeper", user_id, "skip", SEEDED_AT)


async def _next_prompt(tx: Tx, cipher: TextCipher, seed: GuildSeed, user_id: int) -> None:
    # One question per circle: each member's goes to a circle of its own.
    circle = await circles_repo.create(
        tx, seed.guild_id, f"Prompted {user_id}", seed.circle.channel_id, "UTC", SEEDED_AT
    )
    await roles_repo.set_next_prompt(tx, cipher, circle, "How was your week?", user_id, SEEDED_AT)


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
    "talk_airtime": lambda tx, _c, seed, user: _talk_airtime(tx, seed, user),
    "talk_mutes": lambda tx, _c, seed, user: talk_repo.note_muted(
        tx, seed.guild_id, user, 0, SEEDED_AT
    ),
    # circle care (issue 13)
    "crisis_plans": lambda tx, cipher, _seed, user: crisisplan_repo.save_part(
        tx, cipher, user, 1, encode_part({"warning_signs": f"seeded plan of {user}"}), SEEDED_AT
    ),
    "circle_role_holders": _role_holder,
    "circle_role_passes": _role_pass,
    "circle_role_volunteers": lambda tx, _c, seed, user: roles_repo.add_volunteer(
        tx, seed.circle, "keeper", user, SEEDED_AT
    ),
    "circle_next_prompts": _next_prompt,
    "shared_resources": lambda tx, cipher, seed, user: resources_repo.add(
        tx,
        cipher,
        seed.guild_id,
        Draft("peer-group", f"Group of {user}", "Meets on Mondays", None, "ANY", None),
        user,
        False,
        True,
        SEEDED_AT,
    ),
    # Help requests: the member's own ask first; the other rows hang off it.
    "help_asks": lambda tx, cipher, seed, user: help_repo.create_ask(
        tx,
        cipher,
        help_repo.NewAsk(
            seed.circle.id,
            seed.guild_id,
            user,
            Kind.PRACTICAL,
            True,
            AskText(note_of(user, seed.guild_id), "Tuesday 2pm", None),
            False,
            seed.circle.channel_id,
            SEEDED_AT,
        ),
    ),
    "help_additions": lambda tx, cipher, seed, user: _with_own_ask(
        tx,
        cipher,
        seed,
        user,
        lambda ask: help_repo.add_addition(tx, cipher, ask, "more", SEEDED_AT),
    ),
    "help_offers": lambda tx, cipher, seed, user: _with_own_ask(
        tx, cipher, seed, user, lambda ask: help_repo.add_offer(tx, ask, user, SEEDED_AT)
    ),
    "help_routes": lambda tx, cipher, seed, user: _with_own_ask(
        tx, cipher, seed, user, lambda ask: help_repo.record_routes(tx, ask, [user], SEEDED_AT)
    ),
    "help_ledger": lambda tx, cipher, seed, user: _with_own_ask(
        tx,
        cipher,
        seed,
        user,
        lambda ask: help_repo.confirm_time(tx, ask, user, by_asker=False, minutes=30),
    ),
    "help_reveals": lambda tx, cipher, seed, user: _with_own_ask(
        tx,
        cipher,
        seed,
        user,
        lambda ask: help_repo.add_reveal(tx, cipher, ask, user, "seeded reason", SEEDED_AT),
    ),
    "help_thanks": lambda tx, cipher, seed, user: help_repo.add_thanks(
        tx, cipher, seed.guild_id, seed.circle.id, user, user, "thank you", False, SEEDED_AT
    ),
    "help_capacity": lambda tx, _c, seed, user: help_repo.set_capacity(
        tx, seed.guild_id, Capacity(user, CapacityState.AVAILABLE), SEEDED_AT
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


async def _seeded_cycle(tx: Tx, guild_id: int) -> None:
    circle = await circles_repo.by_name(tx, guild_id, f"Seeded {guild_id}")
    assert circle is not None
    await roles_repo.start_cycle(tx, circle, "seeded", SEEDED_AT)


async def _with_own_ask(
    tx: Tx,
    cipher: TextCipher,
    seed: GuildSeed,
    user_id: int,
    write: Callable[[Ask], Awaitable[object]],
) -> None:
    """Run `write` with this member's seeded ask in this guild (written by "help_asks")."""
    asks = [
        a for a in await help_repo.open_asks_of(tx, cipher, user_id) if a.guild_id == seed.guild_id
    ]
    assert asks, "the help_asks recipe runs first (parents before children)"
    await write(asks[0])


# Tables of a guild with no member column. Circles and rounds are written first by
# `seed_guild` itself (every member recipe needs them).
GUILD_RECIPES: dict[str, GuildRecipe] = {
    "guild_settings": lambda tx, guild: guilds_repo.set_guild_setting(
        tx, guild, "crisis_region", "GB"
    ),
    "local_resources": lambda tx, guild: local_resources.add(
        tx, guild, LocalResource(f"Warmline {guild}", "call 555-0100")
    ),
    "circle_role_cycles": lambda tx, guild: _seeded_cycle(tx, guild),
    "resource_settings": lambda tx, guild: resources_repo.set_approval_required(tx, guild, True),
    "scheduled_jobs": lambda tx, guild: jobs_repo.upsert(
        tx,
        jobs_repo.StoredJob(
            f"seeded:{guild}", "seeded", SEEDED_AT + timedelta(days=30), {}, guild_id=guild
        ),
    ),
    "talk_gatherings": lambda tx, guild: _talk_gathering(tx, guild),
    "help_circle_settings": lambda tx, guild: _help_settings(tx, guild),
    "buddy_schedules": lambda tx, guild: _buddy_schedule(tx, guild),
    "buddy_cycles": lambda tx, guild: _buddy_schedule(tx, guild, cycle=True),
}


async def _help_settings(tx: Tx, guild_id: int) -> None:
    circle = await circles_repo.by_name(tx, guild_id, f"Seeded {guild_id}")
    assert circle is not None
    await help_repo.set_setting(tx, circle.id, guild_id, "idle_days", 5)


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
