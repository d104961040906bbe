"""Rounds, answers (notes encrypted), prompts used, reminders sent, member preferences."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.domain.checkins import CheckIn, Visibility
from bot.domain.circles import Circle, Round
from bot.domain.moods import MoodPoint
from bot.storage.crypto import TextCipher
from bot.storage.database import Tx
from bot.timeutil import from_db, to_db


def _round(row: Any) -> Round:
    return Round(
        id=row["id"],
        circle_id=row["circle_id"],
        guild_id=row["guild_id"],
        slot=row["slot"],
        prompt=row["prompt"],
        channel_id=row["channel_id"],
        message_id=row["message_id"],
        opened_at=from_db(row["opened_at"]),
        closes_at=from_db(row["closes_at"]),
        closed_at=None if row["closed_at"] is None else from_db(row["closed_at"]),
    )


async def open_round(
    tx: Tx, circle: Circle, slot: str, prompt: str, opened_at: datetime, closes_at: datetime
) -> Round | None:
    """A new round, or None if this slot already has one or another round is open.

    Both are unique indexes, so two openers at the same moment get one round.
    """
    round_id = await tx.insert(
        "INSERT INTO rounds (circle_id, guild_id, slot, prompt, channel_id, opened_at, closes_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        (
            circle.id,
            circle.guild_id,
            slot,
            prompt,
            circle.channel_id,
            to_db(opened_at),
            to_db(closes_at),
        ),
    )
    return None if round_id is None else await get_round(tx, round_id)


async def get_round(tx: Tx, round_id: int) -> Round | None:
    row = await tx.fetchone("SELECT * FROM rounds WHERE id = ?", (round_id,))
    return None if row is None else _round(row)


@dataclass(frozen=True)
class AnswerContext:
    round: Round
    is_member: bool
    answered: bool


async def answer_context(
    tx: Tx, round_id: int, user_id: int, *, hold_round: bool = False
) -> AnswerContext | None:
    """The round, and whether this member belongs to its circle and has answered: one query.

    `hold_round` (inside a write) keeps the round from closing until the transaction ends,
    so an answer checked as open is never stored after a concurrent close.
    """
    row = await tx.fetchone(
        "SELECT r.*, "
        "EXISTS (SELECT 1 FROM circle_members m WHERE m.circle_id = r.circle_id AND m.user_id = ?) AS is_member, "
        "EXISTS (SELECT 1 FROM checkins c WHERE c.round_id = r.id AND c.user_id = ?) AS answered "
        "FROM rounds r WHERE r.id = ?" + (tx.for_share("r") if hold_round else ""),
        (user_id, user_id, round_id),
    )
    if row is None:
        return None
    return AnswerContext(_round(row), bool(row["is_member"]), bool(row["answered"]))


async def open_round_of(tx: Tx, circle_id: int) -> Round | None:
    row = await tx.fetchone(
        "SELECT * FROM rounds WHERE circle_id = ? AND closed_at IS NULL ORDER BY opened_at DESC LIMIT 1",
        (circle_id,),
    )
    return None if row is None else _round(row)


async def set_message(tx: Tx, round_id: int, message_id: int) -> None:
    await tx.execute("UPDATE rounds SET message_id = ? WHERE id = ?", (message_id, round_id))


async def mark_closed(tx: Tx, round_id: int, at: datetime) -> bool:
    """Close once: False when it was already closed (a re-run close job)."""
    return (
        await tx.execute(
            "UPDATE rounds SET closed_at = ? WHERE id = ? AND closed_at IS NULL",
            (to_db(at), round_id),
        )
        > 0
    )


async def last_slot(tx: Tx, circle_id: int) -> str | None:
    value = await tx.scalar(
        "SELECT slot FROM rounds WHERE circle_id = ? AND slot NOT LIKE 'now:%' ORDER BY slot DESC LIMIT 1",
        (circle_id,),
    )
    return None if value is None else str(value)


# -- answers


@dataclass(frozen=True)
class AnswerWrite:
    round_id: int
    user_id: int
    guild_id: int
    mood: int
    note: str | None
    visibility: Visibility
    at: datetime


async def upsert_answer(tx: Tx, cipher: TextCipher, answer: AnswerWrite) -> None:
    """Store a member's answer, replacing an earlier one in the same round."""
    await tx.execute(
        "INSERT INTO checkins (round_id, user_id, guild_id, mood, note, visibility, answered_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (round_id, user_id) DO UPDATE SET "
        "mood = excluded.mood, note = excluded.note, visibility = excluded.visibility, "
        "answered_at = excluded.answered_at",
        (
            answer.round_id,
            answer.user_id,
            answer.guild_id,
            answer.mood,
            cipher.encrypt_optional(answer.note),
            answer.visibility.value,
            to_db(answer.at),
        ),
    )


async def answers(tx: Tx, cipher: TextCipher, round_id: int) -> list[CheckIn]:
    rows = await tx.fetchall(
        "SELECT * FROM checkins WHERE round_id = ? ORDER BY answered_at", (round_id,)
    )
    return [
        CheckIn(
            round_id=row["round_id"],
            member_id=row["user_id"],
            mood=row["mood"],
            note=cipher.decrypt_optional(row["note"]),
            visibility=Visibility(row["visibility"]),
            answered_at=from_db(row["answered_at"]),
        )
        for row in rows
    ]


async def answered_ids(tx: Tx, round_id: int) -> set[int]:
    rows = await tx.fetchall("SELECT user_id FROM checkins WHERE round_id = ?", (round_id,))
    return {int(r["user_id"]) for r in rows}


async def mood_points(tx: Tx, user_id: int, since: datetime | None = None) -> list[MoodPoint]:
    rows = await tx.fetchall(
        "SELECT answered_at, mood FROM checkins WHERE user_id = ? AND answered_at >= ? ORDER BY answered_at",
        (user_id, to_db(since) if since else ""),
    )
    return [MoodPoint(from_db(r["answered_at"]), int(r["mood"])) for r in rows]


async def last_moods(tx: Tx, user_id: int, count: int) -> list[int]:
    rows = await tx.fetchall(
        "SELECT mood FROM checkins WHERE user_id = ? ORDER BY answered_at DESC LIMIT ?",
        (user_id, count),
    )
    return [int(r["mood"]) for r in reversed(rows)]


# -- prompts


async def custom_prompts(tx: Tx, circle_id: int) -> list[str]:
    rows = await tx.fetchall(
        "SELECT prompt FROM circle_prompts WHERE circle_id = ? ORDER BY id", (circle_id,)
    )
    return [r["prompt"] for r in rows]


async def add_custom_prompt(tx: Tx, circle_id: int, prompt: str) -> None:
    await tx.execute(
        "INSERT INTO circle_prompts (circle_id, prompt) VALUES (?, ?)", (circle_id, prompt)
    )


async def used_prompts(tx: Tx, circle_id: int) -> set[str]:
    rows = await tx.fetchall("SELECT prompt FROM prompts_used WHERE circle_id = ?", (circle_id,))
    return {r["prompt"] for r in rows}


async def mark_prompt_used(tx: Tx, circle_id: int, prompt: str, bank_exhausted: bool) -> None:
    if bank_exhausted:
        await tx.execute("DELETE FROM prompts_used WHERE circle_id = ?", (circle_id,))
    await tx.execute(
        "INSERT INTO prompts_used (circle_id, prompt) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (circle_id, prompt),
    )


# -- reminders and preferences


async def claim_reminder(tx: Tx, round_id: int, user_id: int) -> bool:
    """True the first time only: a member gets at most one reminder per round."""
    return (
        await tx.execute(
            "INSERT INTO reminders_sent (round_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (round_id, user_id),
        )
        > 0
    )


async def set_reminders(tx: Tx, user_id: int, on: bool) -> None:
    await tx.execute(
        "INSERT INTO member_prefs (user_id, reminders) VALUES (?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET reminders = excluded.reminders",
        (user_id, int(on)),
    )


async def set_paused_until(tx: Tx, user_id: int, until: date | None) -> None:
    await tx.execute(
        "INSERT INTO member_prefs (user_id, paused_until) VALUES (?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET paused_until = excluded.paused_until",
        (user_id, None if until is None else until.isoformat()),
    )


async def opted_in(tx: Tx, user_ids: list[int]) -> set[int]:
    if not user_ids:
        return set()
    marks = ",".join("?" * len(user_ids))
    rows = await tx.fetchall(
        f"SELECT user_id FROM member_prefs WHERE reminders = 1 AND user_id IN ({marks})", user_ids
    )
    return {int(r["user_id"]) for r in rows}


async def away(tx: Tx, user_ids: list[int], today: date) -> set[int]:
    if not user_ids:
        return set()
    marks = ",".join("?" * len(user_ids))
    rows = await tx.fetchall(
        f"SELECT user_id FROM member_prefs WHERE paused_until >= ? AND user_id IN ({marks})",
        [today.isoformat(), *user_ids],
    )
    return {int(r["user_id"]) for r in rows}
