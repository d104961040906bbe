"""`/privacy policy | export | delete` and the purge of a server the bot left, end to end.

Data is seeded through the running bot's services (circles in two servers, check-ins with
notes, preferences), then read back through `/privacy export` and the repositories.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.domain.checkins import Visibility
from bot.domain.circles import Circle
from bot.domain.schedule import RoundSchedule
from bot.localdiscord import Channel, Guild, Member, Reply
from bot.replies import SORRY
from bot.services.privacy import GUILD_DATA_GRACE, PURGE_JOB_KIND
from bot.storage import copy, member_data
from bot.storage.repositories import jobs as jobs_repo
from tests.e2e.checkin_helpers import schedule_opening
from tests.e2e.conftest import World
from tests.member_data_seed import member_row_counts, note_of, seed_guild, seed_member

SAM_NOTE_HOME = "slept badly, worried about the exam"
SAM_NOTE_AWAY = "better after the walk with my sister"
KAI_NOTE = "kai's own words, not sam's"


@dataclass
class Seeded:
    home: Circle
    away: Circle
    other_guild: Guild
    other_admin: Member


async def export_of(member: Member, *, dm: bool = False) -> dict[str, Any]:
    reply = await member.run("/privacy export", dm=dm)
    assert reply.ephemeral, reply.describe()
    assert len(reply.files) == 1, reply.describe()
    file = reply.files[0]
    assert file.filename == f"circlekeeper-export-{member.id}.json"
    document: dict[str, Any] = json.loads(file.content)
    return document


async def outcome(world: World, pressed: Reply) -> str:
    """What the erase confirmation finally says: it shows "Erasing…" first, then is edited."""
    message = pressed.message
    assert message is not None, pressed.describe()
    await world.server.wait_for(
        lambda: not message.content.startswith("Erasing"), message="the erase never finished"
    )
    return message.content


async def rows_about(world: World, user_id: int) -> dict[str, list[dict[str, Any]]]:
    """Everything stored about a member, read through the data-rights registry."""
    async with world.bot.resources.db.read() as tx:
        return await member_data.export_member(tx, world.bot.resources.cipher, user_id)


async def count_rows(world: World, table: str, where: str, params: tuple[Any, ...]) -> int:
    async with world.bot.resources.db.read() as tx:
        return int(await tx.scalar(f"SELECT COUNT(*) FROM {table} WHERE {where}", params))


async def guild_rows(world: World, guild_id: int) -> dict[str, int]:
    return {
        entry.table: await count_rows(world, entry.table, f"{entry.guild_column} = ?", (guild_id,))
        for entry in member_data.GUILD_TABLES
    }


async def second_server(world: World) -> tuple[Guild, Member, Channel]:
    """Another server with Sam and Kai in it, known to the bot."""
    other = world.server.create_guild("Second Server")
    other_admin = other.add_member("Bea", manage_guild=True)
    other.add_member(world.sam.user)
    other.add_member(world.kai.user)
    other_channel = other.create_text_channel("thursday-circle")
    await world.server.wait_for(lambda: world.bot.get_channel(other_channel.id) is not None)
    return other, other_admin, other_channel


async def third_server_with_circle(world: World) -> tuple[Guild, Circle]:
    """Another server whose admin made a circle and joined it: a server the bot can leave."""
    services = world.bot.resources.services
    third = world.server.create_guild("Third Server")
    admin = third.add_member("Cy", manage_guild=True)
    channel = third.create_text_channel("circle")
    await world.server.wait_for(lambda: world.bot.get_channel(channel.id) is not None)
    circle = await services.circles.create(third.id, "Fridays", channel.id, None, admin.id)
    await services.circles.join(circle.id, admin.id)
    return third, circle


@pytest.fixture
async def every_table(world: World) -> Guild:
    """Sam and Kai have a row in every registered member table, in two servers
    (seeded from the registry: a new table without a recipe fails here)."""
    other, _, other_channel = await second_server(world)
    db, cipher = world.bot.resources.db, world.bot.resources.cipher
    for guild_id, channel_id in ((world.guild.id, world.channel.id), (other.id, other_channel.id)):
        seed = await seed_guild(db, guild_id, channel_id)
        for member in (world.sam, world.kai):
            await seed_member(db, cipher, seed, member.id)
    return other


@pytest.fixture
async def seeded(world: World) -> Seeded:
    services = world.bot.resources.services
    other, other_admin, other_channel = await second_server(world)

    home = await services.circles.create(
        world.guild.id, "Tuesday", world.channel.id, "Europe/London", world.facilitator.id
    )
    away = await services.circles.create(
        other.id, "Thursday", other_channel.id, None, other_admin.id
    )
    for circle, members in ((home, (world.sam, world.kai)), (away, (world.sam, world.kai))):
        for member in members:
            await services.circles.join(circle.id, member.id)

    home_round = (await services.checkins.open_now(home)).round
    away_round = (await services.checkins.open_now(away)).round
    await services.checkins.answer(
        home_round.id, world.sam.id, 2, SAM_NOTE_HOME, Visibility.FACILITATORS
    )
    await services.checkins.answer(away_round.id, world.sam.id, 4, SAM_NOTE_AWAY, Visibility.SELF)
    await services.checkins.answer(home_round.id, world.kai.id, 3, KAI_NOTE, Visibility.CIRCLE)
    await services.checkins.answer(away_round.id, world.kai.id, 5, None, Visibility.CIRCLE)
    await services.checkins.set_reminders(world.sam.id, True)
    await services.checkins.set_reminders(world.kai.id, True)
    return Seeded(home, away, other, other_admin)


# -- policy ----------------------------------------------------------------------------


async def test_policy_says_what_why_how_long_and_how_to_erase(world: World) -> None:
    reply = await world.sam.run("/privacy policy", channel=world.channel)

    assert reply.ephemeral
    embed = reply.embed
    assert embed is not None
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert set(fields) >= {"What is stored, and why", "How long", "Your rights"}
    stored = "\n".join(
        f["value"] for f in embed["fields"] if f["name"].startswith("What is stored")
    )
    for entry in member_data.MEMBER_TABLES:
        assert entry.purpose in stored
    assert f"{GUILD_DATA_GRACE.days} days" in fields["How long"]
    assert "14 days" in fields["How long"]
    assert "/privacy export" in fields["Your rights"]
    assert "/privacy delete" in fields["Your rights"]
    assert "encrypted" in reply.text
    assert "no analytics" in reply.text


async def test_policy_works_in_dms(world: World) -> None:
    reply = await world.noor.run("/privacy policy", dm=True)
    assert reply.embed is not None and reply.embed["title"] == "Circlekeeper and your data"


# -- export ----------------------------------------------------------------------------


async def test_export_holds_the_members_rows_across_both_servers_decrypted(
    world: World, seeded: Seeded
) -> None:
    document = await export_of(world.sam)

    assert document["user_id"] == str(world.sam.id)
    tables = document["tables"]
    memberships = {(row["circle_id"], row["guild_id"]) for row in tables["circle_members"]}
    assert memberships == {
        (seeded.home.id, world.guild.id),
        (seeded.away.id, seeded.other_guild.id),
    }
    notes = {row["guild_id"]: (row["mood"], row["note"]) for row in tables["checkins"]}
    assert notes == {
        world.guild.id: (2, SAM_NOTE_HOME),
        seeded.other_guild.id: (4, SAM_NOTE_AWAY),
    }
    assert tables["member_prefs"] == [
        {"user_id": world.sam.id, "reminders": 1, "paused_until": None}
    ]
    everything = json.dumps(document)
    assert KAI_NOTE not in everything
    assert all(row.get("user_id") == world.sam.id for rows in tables.values() for row in rows), (
        "another member's row leaked into the export"
    )


async def test_export_has_a_row_from_every_registered_table_decrypted(
    world: World, every_table: Guild
) -> None:
    document = await export_of(world.sam)

    tables = document["tables"]
    assert set(tables) == {entry.table for entry in member_data.MEMBER_TABLES}
    assert {row["note"] for row in tables["checkins"]} == {
        note_of(world.sam.id, world.guild.id),
        note_of(world.sam.id, every_table.id),
    }
    for entry in member_data.MEMBER_TABLES:
        for row in tables[entry.table]:
            assert world.sam.id in [row[column] for column in entry.member_columns], entry.table
    assert note_of(world.kai.id, world.guild.id) not in json.dumps(document)


async def test_export_reply_counts_the_records_and_works_in_dms(
    world: World, seeded: Seeded
) -> None:
    reply = await world.sam.run("/privacy export", dm=True)
    assert reply.ephemeral
    count = sum(len(rows) for rows in (await rows_about(world, world.sam.id)).values())
    assert f"({count} record(s), all servers)" in reply.content
    document = json.loads(reply.files[0].content)
    assert SAM_NOTE_HOME in json.dumps(document, ensure_ascii=False)


async def test_export_for_someone_with_no_data_is_an_empty_file(world: World) -> None:
    document = await export_of(world.noor)
    assert document["tables"] == {}


async def test_the_database_never_holds_a_note_in_plain_text(world: World, seeded: Seeded) -> None:
    if world.db_url is None:  # the SQLite file and its WAL, as on disk
        raw = b"".join(
            path.read_bytes()
            for path in world.db_path.parent.iterdir()
            if path.name.startswith(world.db_path.name)
        )
    else:  # every stored value, as PostgreSQL holds it
        raw = repr(await copy.table_rows(world.bot.resources.db)).encode()
    assert SAM_NOTE_HOME.encode() not in raw
    assert KAI_NOTE.encode() not in raw


# -- delete ----------------------------------------------------------------------------


async def test_delete_asks_first_and_keep_my_data_erases_nothing(
    world: World, seeded: Seeded
) -> None:
    before = await rows_about(world, world.sam.id)
    reply = await world.sam.run("/privacy delete", channel=world.channel)

    assert reply.ephemeral
    assert reply.buttons == ["Erase everything", "Keep my data"]
    assert "cannot be undone" in reply.content
    kept = await world.sam.click("Keep my data", message=reply)
    assert kept.message is not None and kept.message.content == "Nothing was erased."
    assert kept.message.buttons == []
    assert await rows_about(world, world.sam.id) == before


async def test_another_member_cannot_press_the_erase_button(world: World, seeded: Seeded) -> None:
    before_sam = await rows_about(world, world.sam.id)
    before_kai = await rows_about(world, world.kai.id)
    reply = await world.sam.run("/privacy delete", channel=world.channel)

    refused = await world.kai.click("Erase everything", message=reply)
    assert refused.ephemeral
    assert "belongs to someone else's request" in refused.content
    assert await rows_about(world, world.sam.id) == before_sam
    assert await rows_about(world, world.kai.id) == before_kai
    # The owner's buttons still work afterwards.
    kept = await world.sam.click("Keep my data", message=reply)
    assert kept.message is not None and kept.message.content == "Nothing was erased."


async def test_a_failed_erase_changes_nothing_and_says_so(
    world: World, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    sam_before = await rows_about(world, world.sam.id)
    kai_before = await rows_about(world, world.kai.id)
    real_delete = member_data.delete_member

    async def fails_half_way(tx: Any, user_id: int) -> int:
        await real_delete(tx, user_id)  # every row gone inside the transaction …
        raise sqlite3.OperationalError("disk I/O error")  # … then the disk fails

    monkeypatch.setattr(member_data, "delete_member", fails_half_way)
    reply = await world.sam.run("/privacy delete", channel=world.channel)
    pressed = await world.sam.click("Erase everything", message=reply)

    assert await outcome(world, pressed) == (
        "Nothing was erased: something went wrong on our side. "
        "Please try `/privacy delete` again in a moment."
    )
    # The apology follows the edit: wait for it rather than race it.
    await world.server.wait_for(lambda: bool(pressed.followups), message="the apology")
    assert pressed.followups[-1].content == SORRY
    assert pressed.followups[-1].ephemeral
    assert await rows_about(world, world.sam.id) == sam_before
    assert await rows_about(world, world.kai.id) == kai_before


async def test_erase_everything_removes_every_row_about_the_member_in_both_servers(
    world: World, seeded: Seeded, every_table: Guild
) -> None:
    db = world.bot.resources.db
    assert all((await member_row_counts(db, world.sam.id)).values())
    kai_before = await rows_about(world, world.kai.id)
    guilds = (world.guild.id, seeded.other_guild.id, every_table.id)
    circles_before = [
        await count_rows(world, "circles", "guild_id = ?", (guild,)) for guild in guilds
    ]
    facilitators_before = [
        await count_rows(
            world, "circle_facilitators", "guild_id = ? AND user_id != ?", (g, world.sam.id)
        )
        for g in guilds
    ]
    reply = await world.sam.run("/privacy delete", channel=world.channel)
    # Sam's seeded talk_mutes rows are unmutes the bot still owes (Sam is not in voice): kept,
    # stripped to the server and Sam's id, and said so
    keeps = {entry.table for entry in member_data.MEMBER_TABLES if entry.erase_keeps}
    before = await rows_about(world, world.sam.id)
    sam_rows = sum(len(rows) for table, rows in before.items() if table not in keeps)

    done = await world.sam.click("Erase everything", message=reply)
    said = await outcome(world, done)
    assert said.startswith(f"Done. Erased {sam_rows} record(s) about you")
    assert "Kept until it is done: an unmute the bot owes you" in said
    assert done.message is not None
    assert done.message.buttons == []
    assert SORRY not in done.text

    assert set(await rows_about(world, world.sam.id)) == keeps
    counts = await member_row_counts(db, world.sam.id)
    assert {n for table, n in counts.items() if table not in keeps} == {0}
    assert set((await export_of(world.sam))["tables"]) == keeps
    # Everyone else is untouched: Kai's rows in every server, the circles, the facilitators.
    assert await rows_about(world, world.kai.id) == kai_before
    assert [
        await count_rows(world, "circles", "guild_id = ?", (guild,)) for guild in guilds
    ] == circles_before
    assert [
        await count_rows(world, "circle_facilitators", "guild_id = ?", (guild,)) for guild in guilds
    ] == facilitators_before
    kai_export = await export_of(world.kai)
    assert KAI_NOTE in json.dumps(kai_export, ensure_ascii=False)


async def test_delete_works_in_dms_with_nothing_stored(world: World) -> None:
    reply = await world.noor.run("/privacy delete", dm=True)
    done = await world.noor.click("Erase everything", message=reply)
    assert (await outcome(world, done)).startswith("Done. Erased 0 record(s)")


# -- a server removes the bot -------------------------------------------------------------


async def test_removing_the_bot_schedules_a_purge_after_the_grace_period(
    world: World, seeded: Seeded
) -> None:
    other = seeded.other_guild
    assert sum((await guild_rows(world, other.id)).values()) > 0
    left_at = world.clock.now()

    await world.server.remove_bot_from_guild(other)

    job_id = f"{PURGE_JOB_KIND}:{other.id}"

    async def stored() -> Any:
        async with world.bot.resources.db.read() as tx:
            return await jobs_repo.get(tx, job_id)

    async def wait_for_job() -> Any:
        for _ in range(500):
            if (job := await stored()) is not None:
                return job
            await asyncio.sleep(0.01)
        raise AssertionError(f"{job_id} was never stored")

    job = await wait_for_job()
    assert job.kind == PURGE_JOB_KIND
    assert job.payload == {"guild_id": other.id}
    assert job.run_at - left_at == timedelta(days=14)

    # A day short of the grace period: nothing is purged.
    await world.advance(timedelta(days=13, hours=23))
    assert sum((await guild_rows(world, other.id)).values()) > 0
    assert await stored() is not None

    home_before = await guild_rows(world, world.guild.id)
    kai_home = [
        row
        for row in (await rows_about(world, world.kai.id))["circle_members"]
        if row["guild_id"] == world.guild.id
    ]
    ran = await world.advance(timedelta(hours=1))
    assert ran >= 1
    assert await guild_rows(world, other.id) == dict.fromkeys(await guild_rows(world, other.id), 0)
    assert await stored() is None
    # The server the bot is still in keeps everything. (Its delivered outbox rows are
    # bookkeeping, pruned 7 days after delivery whenever a later delivery runs: across this
    # 14-day jump that depends on timing, so they are left out of the comparison.)
    home_after = await guild_rows(world, world.guild.id)
    assert {k: v for k, v in home_after.items() if k != "outbox"} == {
        k: v for k, v in home_before.items() if k != "outbox"
    }
    assert [
        row
        for row in (await rows_about(world, world.kai.id))["circle_members"]
        if row["guild_id"] == world.guild.id
    ] == kai_home
    kai_export = await export_of(world.kai)
    assert {row["guild_id"] for row in kai_export["tables"]["circle_members"]} == {world.guild.id}


async def test_re_inviting_the_bot_within_the_grace_period_keeps_the_data(world: World) -> None:
    third, _ = await third_server_with_circle(world)
    before = await guild_rows(world, third.id)
    job_id = f"{PURGE_JOB_KIND}:{third.id}"

    await world.server.remove_bot_from_guild(third)
    await world.server.wait_for(lambda: world.bot.get_guild(third.id) is None)
    await world.advance(timedelta(days=3))
    await world.server.invite_bot_to_guild(third)  # Discord sends GUILD_CREATE again
    await world.server.wait_for(lambda: world.bot.get_guild(third.id) is not None)

    async def purge_job() -> Any:
        async with world.bot.resources.db.read() as tx:
            return await jobs_repo.get(tx, job_id)

    for _ in range(500):
        if await purge_job() is None:
            break
        await asyncio.sleep(0.01)
    assert await purge_job() is None
    await world.advance(timedelta(days=30))
    assert await guild_rows(world, third.id) == before


async def test_no_round_opens_while_the_bot_is_out_of_the_server(world: World) -> None:
    """Found by the simulated year: rounds kept opening in a server that had removed the bot
    (their prompts failed, and reminders sent members to a channel the bot could not see)."""
    third, circle = await third_server_with_circle(world)
    now = world.clock.now()
    async with world.bot.resources.db.transaction() as tx:
        await schedule_opening(
            tx, circle, daily_at(now + timedelta(hours=1)), now + timedelta(hours=1)
        )

    await world.server.remove_bot_from_guild(third)
    await world.server.wait_for(lambda: world.bot.get_guild(third.id) is None)
    await world.advance(timedelta(hours=2))
    assert await count_rows(world, "rounds", "circle_id = ?", (circle.id,)) == 0
    async with world.bot.resources.db.read() as tx:  # the next day's opening still waits
        job = await jobs_repo.get(tx, f"checkin-open:{circle.id}")
    assert job is not None and job.run_at > world.clock.now()

    await world.server.invite_bot_to_guild(third)
    await world.server.wait_for(lambda: world.bot.get_guild(third.id) is not None)
    await world.advance(timedelta(days=1))
    assert await count_rows(world, "rounds", "circle_id = ?", (circle.id,)) == 1


def daily_at(when: datetime) -> RoundSchedule:
    return RoundSchedule(
        tuple(range(7)),
        when.replace(tzinfo=None).time().replace(second=0, microsecond=0),
        timedelta(hours=12),
        "UTC",
    )
