"""The data-rights registry: every table that holds a member's data, declared once.

`/privacy export`, `/privacy delete`, key rotation, the privacy policy and the purge of a
server the bot has left all read this registry, and a structural test fails when a table
with a member-id column is missing from it. A feature that adds such a table adds its
entry here in the same change.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.storage.crypto import TextCipher
from bot.storage.database import Tx
from bot.storage.repositories import help_requests as help_repo

MEMBER_COLUMN = re.compile(r"^(.*_)?(user|member|author|buddy|offerer|requester)_id$")


@dataclass(frozen=True)
class MemberTable:
    table: str
    member_columns: tuple[str, ...]
    purpose: str
    encrypted_columns: tuple[str, ...] = ()
    key_columns: tuple[str, ...] = ()  # the primary key; needed to rewrite encrypted columns
    # Run by an erase instead of deleting, when the bot still owes the member something (one
    # `?` per member column); the purpose text says what is kept and until when, and
    # `kept_note` tells the member who just erased (it reads after "Kept until it is done: ").
    erase_keeps: str = ""
    kept_note: str = ""
    # Columns naming the member in someone else's row: erased with them, never exported to them.
    erase_also: tuple[str, ...] = ()


@dataclass(frozen=True)
class GuildTable:
    """A table whose rows belong to one server and go when the server's data is purged."""

    table: str
    guild_column: str = "guild_id"


# Children before parents: deletion runs in this order, so foreign keys never block it.
MEMBER_TABLES: tuple[MemberTable, ...] = (
    MemberTable(
        "outbox",
        ("user_id",),
        "direct messages the bot owes you (a reminder), until sent and for 7 days after; "
        "ids only, never text",
    ),
    MemberTable(
        "reminders_sent",
        ("user_id",),
        "which check-in rounds already sent you a reminder, so you get one at most",
    ),
    MemberTable(
        "checkins",
        ("user_id",),
        "your check-in answers: mood, optional note (encrypted), and who you chose to let see it",
        encrypted_columns=("note",),
        key_columns=("round_id", "user_id"),
    ),
    MemberTable(
        "circle_facilitators",
        ("user_id",),
        "circles you facilitate, so facilitators-only check-ins can reach you privately",
    ),
    MemberTable(
        "circle_members",
        ("user_id",),
        "which circles you joined (you agreed to their agreement), and when",
    ),
    MemberTable(
        "member_prefs",
        ("user_id",),
        "your check-in preferences: reminders on or off, and an away date if you paused",
    ),
    MemberTable(
        "dm_status",
        ("user_id",),
        "that the bot could not DM you, so it does not retry (Discord counts failed DMs)",
    ),
    MemberTable(
        "talk_airtime",
        ("user_id",),
        "turns you took and minutes you held the talking piece in each ended gathering "
        "(never anything said)",
    ),
    MemberTable(
        "talk_mutes",
        ("user_id",),
        "that the bot server-muted you in voice for a talking-piece round, so it unmutes you. "
        "If you erase your data while such a mute is still on, only the server, your id and "
        "when you were muted are kept (not the gathering), until the bot lifts the mute when "
        "you are next in voice there; then that too is deleted",
        erase_keeps="UPDATE talk_mutes SET gathering_id = 0 WHERE user_id = ?",
        kept_note="an unmute the bot owes you in voice (the server and your id only); it is "
        "lifted, and this deleted, when you are next in a voice channel of that server",
    ),
    # circle care (issue 13)
    MemberTable(
        "crisis_plans",
        ("user_id",),
        "your crisis plan (encrypted); only you see it unless you share it",
        encrypted_columns=("part1", "part2"),
        key_columns=("user_id",),
    ),
    MemberTable(
        "circle_role_passes",
        ("user_id",),
        "rotating roles you swapped or skipped (no reason asked)",
    ),
    MemberTable(
        "circle_role_holders",
        ("user_id",),
        "rotating roles you held in a circle, per cycle",
    ),
    MemberTable(
        "circle_role_volunteers",
        ("user_id",),
        "rotating roles you volunteered for, and your last turn",
    ),
    MemberTable(
        "circle_next_prompts",
        ("set_by_user_id",),
        "a check-in question you set as prompt holder (encrypted), until used",
        encrypted_columns=("prompt",),
        key_columns=("circle_id",),
    ),
    MemberTable(
        "shared_resources",
        ("author_user_id",),
        "resources you shared (encrypted), named or as “a member”",
        encrypted_columns=("name", "offers", "url", "notes"),
        key_columns=("id",),
    ),
    # Help requests (children before help_asks; an erased ask takes its offers with it).
    MemberTable(
        "help_routes",
        ("user_id",),
        "which asks for help you were told about privately, so you are told once",
    ),
    MemberTable(
        "help_ledger",
        ("helper_user_id",),
        "time you confirmed giving as a helper (time bank); the asker's side is kept with the ask",
    ),
    MemberTable(
        "help_offers",
        ("offerer_id",),
        "your offers to help (I can help) and whether the asker accepted them",
    ),
    MemberTable(
        "help_additions",
        ("requester_id",),
        "what you added to your own asks (encrypted)",
        encrypted_columns=("text",),
        key_columns=("id",),
    ),
    MemberTable(
        "help_reveals",
        ("requester_id", "revealed_by_user_id"),
        "when a facilitator revealed who asked anonymously: who, when and why (encrypted)",
        encrypted_columns=("reason",),
        key_columns=("id",),
    ),
    MemberTable(
        "help_asks",
        ("requester_id",),
        "your asks for help, anonymous ones too: kind, text (encrypted), thread, when closed",
        encrypted_columns=("what", "when_where", "enough"),
        key_columns=("id",),
    ),
    MemberTable(
        "help_thanks",
        ("giver_user_id", "recipient_user_id"),
        "thank-yous you gave or received, with an optional note (encrypted)",
        encrypted_columns=("note",),
        key_columns=("id",),
    ),
    MemberTable(
        "help_capacity",
        ("user_id",),
        "your /capacity: available, limited or resting, until when, for which kinds",
    ),
    MemberTable(
        "buddy_members",
        ("user_id",),
        "your buddy groups: which cycle, your group's number, and your answer to "
        '"did you connect?"',
    ),
    MemberTable(
        "buddy_avoid",
        ("user_id",),
        "who you asked never to be paired with (private; someone's list naming you is never "
        "shown to you, and is erased with your data)",
        erase_also=("avoided_id",),
    ),
    MemberTable(
        "buddy_optins",
        ("user_id",),
        "circles whose buddy pairing you joined, a snooze date, and silent cycles in a row",
    ),
)

GUILD_TABLES: tuple[GuildTable, ...] = (
    GuildTable("outbox"),
    GuildTable("checkins"),
    GuildTable("rounds"),
    GuildTable("circle_members"),
    GuildTable("circle_facilitators"),
    GuildTable("circles"),
    GuildTable("local_resources"),
    GuildTable("guild_settings"),
    GuildTable("scheduled_jobs"),  # its timers: nothing runs for a purged server
    GuildTable("talk_airtime"),
    GuildTable("talk_mutes"),
    GuildTable("talk_gatherings"),
    # circle care (issue 13)
    GuildTable("circle_role_passes"),
    GuildTable("circle_role_holders"),
    GuildTable("circle_role_cycles"),
    GuildTable("circle_role_volunteers"),
    GuildTable("circle_next_prompts"),
    GuildTable("shared_resources"),
    GuildTable("resource_settings"),
    # Help requests (children before help_asks, all before their circles' rows go).
    GuildTable("help_routes"),
    GuildTable("help_ledger"),
    GuildTable("help_offers"),
    GuildTable("help_additions"),
    GuildTable("help_reveals"),
    GuildTable("help_asks"),
    GuildTable("help_thanks"),
    GuildTable("help_capacity"),
    GuildTable("help_circle_settings"),
    GuildTable("buddy_members"),
    GuildTable("buddy_cycles"),
    GuildTable("buddy_optins"),
    GuildTable("buddy_avoid"),
    GuildTable("buddy_schedules"),
)

# Tables with a member-id column that hold no member data (explained here, checked by a test).
NOT_MEMBER_DATA: dict[str, str] = {}


def _where(columns: tuple[str, ...], joiner: str = " OR ") -> str:
    return joiner.join(f"{column} = ?" for column in columns)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    return value


async def export_member(
    tx: Tx, cipher: TextCipher, user_id: int
) -> dict[str, list[dict[str, Any]]]:
    """Everything stored about one member, across every server, with text decrypted."""
    export: dict[str, list[dict[str, Any]]] = {}
    for entry in MEMBER_TABLES:
        rows = await tx.fetchall(
            f"SELECT * FROM {entry.table} WHERE {_where(entry.member_columns)}",
            [user_id] * len(entry.member_columns),
        )
        records = []
        for row in rows:
            record = {key: row[key] for key in row.keys()}  # noqa: SIM118 (sqlite3.Row iterates values)
            for column in entry.encrypted_columns:
                record[column] = cipher.decrypt_optional(record[column])
            records.append({k: _jsonable(v) for k, v in record.items()})
        if records:
            export[entry.table] = records
    return export


def export_json(user_id: int, export: dict[str, list[dict[str, Any]]], generated_at: str) -> bytes:
    document = {
        "about": "Everything Circlekeeper stores about you, across every server.",
        "user_id": str(user_id),
        "generated_at": generated_at,
        "tables": export,
    }
    return json.dumps(document, indent=2, ensure_ascii=False, default=str).encode("utf-8")


async def delete_member(tx: Tx, user_id: int) -> int:
    """Erase every row about one member; the caller's transaction makes it all-or-nothing.

    Rows a table keeps on erase (`erase_keeps`: an unmute still owed) are stripped to what
    that needs and not counted as erased."""
    deleted = 0
    await help_repo.owe_withdrawn_notices(tx, user_id)  # open asks' threads say "withdrawn"
    for entry in MEMBER_TABLES:
        if entry.erase_keeps:
            await tx.execute(entry.erase_keeps, [user_id] * len(entry.member_columns))
            continue
        columns = entry.member_columns + entry.erase_also
        deleted += await tx.execute(
            f"DELETE FROM {entry.table} WHERE {_where(columns)}", [user_id] * len(columns)
        )
    return deleted


async def kept_after_erase(tx: Tx, user_id: int) -> list[str]:
    """The notes of the tables that still hold rows about a member after an erase."""
    kept = []
    for entry in MEMBER_TABLES:
        if entry.erase_keeps and await tx.fetchone(
            f"SELECT 1 FROM {entry.table} WHERE {_where(entry.member_columns)}",
            [user_id] * len(entry.member_columns),
        ):
            kept.append(entry.kept_note)
    return kept


async def purge_guild(tx: Tx, guild_id: int) -> int:
    deleted = 0
    for entry in GUILD_TABLES:
        deleted += await tx.execute(
            f"DELETE FROM {entry.table} WHERE {entry.guild_column} = ?", (guild_id,)
        )
    return deleted


async def known_guild_ids(tx: Tx) -> set[int]:
    """Every server that has any row in a server-owned table."""
    found: set[int] = set()
    for entry in GUILD_TABLES:
        rows = await tx.fetchall(
            f"SELECT DISTINCT {entry.guild_column} AS gid FROM {entry.table} "
            f"WHERE {entry.guild_column} IS NOT NULL"
        )
        found.update(int(row["gid"]) for row in rows)
    return found


async def reencrypt_all(tx: Tx, old: TextCipher, new: TextCipher) -> int:
    """Re-encrypt every encrypted column under a new key; returns the values rewritten."""
    count = 0
    for entry in MEMBER_TABLES:
        for column in entry.encrypted_columns:
            keys = ", ".join(entry.key_columns)
            rows = await tx.fetchall(
                f"SELECT {column}, {keys} FROM {entry.table} WHERE {column} IS NOT NULL"
            )
            await tx.executemany(
                f"UPDATE {entry.table} SET {column} = ? WHERE {_where(entry.key_columns, ' AND ')}",
                [(new.encrypt(old.decrypt(row[0])), *tuple(row)[1:]) for row in rows],
            )
            count += len(rows)
    return count
