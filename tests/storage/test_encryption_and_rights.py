"""Encryption at rest, key rotation, export and delete — with real check-ins in two servers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.checkins import Visibility
from bot.storage import member_data
from bot.storage.crypto import TextCipher, WrongKeyError, generate_key
from bot.storage.database import Database, SqliteDatabase
from bot.storage.keys import rotate_key, verify_key
from bot.storage.repositories import checkins as checkins_repo
from bot.storage.repositories import circles as circles_repo
from tests.member_data_seed import (
    GuildSeed,
    MissingRecipe,
    guild_row_counts,
    member_row_counts,
    note_of,
    seed_guild,
    seed_member,
)

NOW = datetime(2026, 11, 21, 19, 0, tzinfo=UTC)
ALICE, BOB = 1001, 1002
SECRET = "I have not told anyone about the hospital appointment"


async def _seed(db: Database, cipher: TextCipher) -> None:
    """Alice and Bob each answer one round in each of two servers."""
    async with db.transaction() as tx:
        for guild_id in (1, 2):
            circle = await circles_repo.create(tx, guild_id, "Evenings", 10 + guild_id, "UTC", NOW)
            for user in (ALICE, BOB):
                await circles_repo.add_member(tx, circle, user, NOW)
            round_ = await checkins_repo.open_round(
                tx, circle, "slot", "How are you?", NOW, NOW + timedelta(hours=1)
            )
            assert round_ is not None
            for user in (ALICE, BOB):
                await checkins_repo.upsert_answer(
                    tx,
                    cipher,
                    checkins_repo.AnswerWrite(
                        round_.id,
                        user,
                        guild_id,
                        2,
                        f"{SECRET} ({user}, {guild_id})",
                        Visibility.SELF,
                        NOW,
                    ),
                )


async def _raw(db: Database) -> bytes:
    """What the database holds, as stored: the file bytes (SQLite) or every value (PostgreSQL)."""
    if isinstance(db, SqliteDatabase):
        async with db.read() as tx:
            await tx.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        wal = db.path.with_name(db.path.name + "-wal")
        return db.path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    return repr(await _dump(db)).encode()


async def test_the_raw_database_never_holds_a_note_in_plaintext(
    db: Database, cipher: TextCipher
) -> None:
    await _seed(db, cipher)
    raw = await _raw(db)
    assert SECRET.encode() not in raw
    assert b"hospital" not in raw
    async with db.read() as tx:
        notes = [a.note for a in await checkins_repo.answers(tx, cipher, 1)]
    assert f"{SECRET} ({ALICE}, 1)" in notes


async def test_a_wrong_key_is_refused_and_touches_nothing(db: Database, cipher: TextCipher) -> None:
    await verify_key(db, cipher)
    await _seed(db, cipher)
    before = await _dump(db)
    with pytest.raises(WrongKeyError, match="does not open"):
        await verify_key(db, TextCipher(generate_key()))
    assert await _dump(db) == before


async def test_rotation_keeps_every_note_readable_under_the_new_key_only(
    db: Database, cipher: TextCipher
) -> None:
    await verify_key(db, cipher)
    await _seed(db, cipher)
    new = TextCipher(generate_key())
    assert await rotate_key(db, cipher, new) == 4
    await verify_key(db, new)
    with pytest.raises(WrongKeyError):
        await verify_key(db, cipher)
    async with db.read() as tx:
        notes = sorted(
            [a.note or "" for a in await checkins_repo.answers(tx, new, 1)]
            + [a.note or "" for a in await checkins_repo.answers(tx, new, 2)]
        )
    assert notes == sorted(f"{SECRET} ({u}, {g})" for u in (ALICE, BOB) for g in (1, 2))


async def test_export_holds_everything_about_one_member_across_servers_decrypted(
    db: Database, cipher: TextCipher
) -> None:
    await _seed(db, cipher)
    async with db.read() as tx:
        export = await member_data.export_member(tx, cipher, ALICE)
    document = json.loads(member_data.export_json(ALICE, export, NOW.isoformat()))
    checkins = document["tables"]["checkins"]
    assert sorted(c["guild_id"] for c in checkins) == [1, 2]
    assert {c["note"] for c in checkins} == {f"{SECRET} ({ALICE}, 1)", f"{SECRET} ({ALICE}, 2)"}
    assert len(document["tables"]["circle_members"]) == 2
    assert str(BOB) not in json.dumps(document)


async def test_delete_erases_one_member_everywhere_and_leaves_others_untouched(
    db: Database, cipher: TextCipher
) -> None:
    await _seed(db, cipher)
    async with db.transaction() as tx:
        assert await member_data.delete_member(tx, ALICE) == 4  # 2 check-ins + 2 memberships
    async with db.read() as tx:
        assert await member_data.export_member(tx, cipher, ALICE) == {}
        bob = await member_data.export_member(tx, cipher, BOB)
    assert len(bob["checkins"]) == 2 and len(bob["circle_members"]) == 2


async def test_a_failed_delete_leaves_everything_in_place(db: Database, cipher: TextCipher) -> None:
    await _seed(db, cipher)
    before = await _dump(db)
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await member_data.delete_member(tx, ALICE)
            raise RuntimeError("interrupted half-way")
    assert await _dump(db) == before


async def test_purging_a_server_keeps_the_other_servers_data(
    db: Database, cipher: TextCipher
) -> None:
    await _seed(db, cipher)
    async with db.transaction() as tx:
        await member_data.purge_guild(tx, 1)
    async with db.read() as tx:
        alice = await member_data.export_member(tx, cipher, ALICE)
    assert [c["guild_id"] for c in alice["checkins"]] == [2]


async def _dump(db: Database) -> list[tuple[str, list[tuple[object, ...]]]]:
    keys = await db.primary_keys()
    async with db.read() as tx:
        return [
            (
                t,
                [
                    tuple(r)
                    for r in await tx.fetchall(f"SELECT * FROM {t} ORDER BY {', '.join(keys[t])}")
                ],
            )
            for t in sorted(keys)
        ]


def test_key_file_is_owner_only(tmp_path: Path) -> None:
    from bot.storage.crypto import load_or_create_key

    key_path = tmp_path / "bot.key"
    key = load_or_create_key(None, key_path)
    assert key_path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_key(None, key_path) == key


# -- every registered table ------------------------------------------------------------------


async def _every_table(db: Database, cipher: TextCipher) -> dict[int, GuildSeed]:
    """Alice and Bob have a row in every member table in two servers; each server has a row
    in every guild table."""
    seeds = {guild: await seed_guild(db, guild, 10 + guild) for guild in (1, 2)}
    for seed in seeds.values():
        for user in (ALICE, BOB):
            await seed_member(db, cipher, seed, user)
    return seeds


async def test_seeding_refuses_a_registered_table_without_a_recipe(
    db: Database, cipher: TextCipher, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = await seed_guild(db, 1, 11)
    monkeypatch.setattr(
        member_data,
        "MEMBER_TABLES",
        (*member_data.MEMBER_TABLES, member_data.MemberTable("buddy_pairs", ("buddy_id",), "x")),
    )
    with pytest.raises(MissingRecipe, match="buddy_pairs"):
        await seed_member(db, cipher, seed, ALICE)
    monkeypatch.setattr(
        member_data, "GUILD_TABLES", (*member_data.GUILD_TABLES, member_data.GuildTable("talks"))
    )
    with pytest.raises(MissingRecipe, match="talks"):
        await seed_guild(db, 2, 12)


async def test_export_has_a_row_from_every_member_table_with_notes_decrypted(
    db: Database, cipher: TextCipher
) -> None:
    await _every_table(db, cipher)
    assert all(await member_row_counts(db, ALICE)), await member_row_counts(db, ALICE)
    async with db.read() as tx:
        export = await member_data.export_member(tx, cipher, ALICE)
    document = json.loads(member_data.export_json(ALICE, export, NOW.isoformat()))

    assert set(document["tables"]) == {entry.table for entry in member_data.MEMBER_TABLES}
    assert {row["note"] for row in document["tables"]["checkins"]} == {
        note_of(ALICE, 1),
        note_of(ALICE, 2),
    }
    for entry in member_data.MEMBER_TABLES:
        for row in document["tables"][entry.table]:
            assert ALICE in [row[column] for column in entry.member_columns], entry.table
    assert str(BOB) not in json.dumps(document)


async def test_delete_leaves_no_row_about_the_member_in_any_table_and_keeps_others(
    db: Database, cipher: TextCipher
) -> None:
    await _every_table(db, cipher)
    bob_before = await member_row_counts(db, BOB)
    async with db.read() as tx:
        bob_export = await member_data.export_member(tx, cipher, BOB)
    alice_before = await member_row_counts(db, ALICE)
    # A table that keeps what the bot still owes (an unmute) keeps those rows, stripped
    keeps = {entry.table for entry in member_data.MEMBER_TABLES if entry.erase_keeps}
    alice_rows = sum(n for table, n in alice_before.items() if table not in keeps)

    async with db.transaction() as tx:
        assert await member_data.delete_member(tx, ALICE) == alice_rows

    assert await member_row_counts(db, ALICE) == {
        table: alice_before[table] if table in keeps else 0 for table in bob_before
    }
    assert await member_row_counts(db, BOB) == bob_before
    async with db.read() as tx:
        assert set(await member_data.export_member(tx, cipher, ALICE)) == keeps
        assert await member_data.export_member(tx, cipher, BOB) == bob_export


async def test_purge_empties_every_guild_table_of_that_server_only(
    db: Database, cipher: TextCipher
) -> None:
    await _every_table(db, cipher)
    assert all((await guild_row_counts(db, 1)).values()), await guild_row_counts(db, 1)
    other_before = await guild_row_counts(db, 2)

    async with db.transaction() as tx:
        await member_data.purge_guild(tx, 1)

    assert await guild_row_counts(db, 1) == dict.fromkeys(other_before, 0)
    assert await guild_row_counts(db, 2) == other_before
    async with db.read() as tx:
        alice = await member_data.export_member(tx, cipher, ALICE)
    assert {row["note"] for row in alice["checkins"]} == {note_of(ALICE, 2)}
