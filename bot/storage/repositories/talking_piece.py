"""Talking-piece gatherings: state as versioned JSON, airtime at the end, the bot's own mutes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.talking_piece import (
    Gathering,
    Hand,
    Mode,
    OnTimeout,
    Options,
    Order,
    Phase,
    Seat,
    Turn,
    TurnEnd,
)
from bot.storage.database import Tx
from bot.timeutil import from_db, to_db


@dataclass(frozen=True)
class StoredGathering:
    id: int
    guild_id: int
    circle_id: int
    channel_id: int
    message_id: int | None
    version: int
    gathering: Gathering


def _t(when: datetime | None) -> str | None:
    return None if when is None else to_db(when)


def _f(text: str | None) -> datetime | None:
    return None if text is None else from_db(text)


def _s(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()


def _d(seconds: float | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)


def dump(g: Gathering) -> str:
    o = g.options
    return json.dumps(
        {
            "options": {
                "mode": o.mode.value,
                "order": o.order.value,
                "share": _s(o.share),
                "on_timeout": o.on_timeout.value,
                "open_floor_after": o.open_floor_after,
                "progressive": o.progressive,
                "gather_for": _s(o.gather_for),
                "mute_others": o.mute_others,
            },
            "facilitator_id": g.facilitator_id,
            "created_at": to_db(g.created_at),
            "phase": g.phase.value,
            "seats": [[s.member_id, s.name] for s in g.seats],
            "queue": list(g.queue),
            "holder": g.holder,
            "turn": g.turn,
            "turn_started_at": _t(g.turn_started_at),
            "deadline": _t(g.deadline),
            "paused_left": _s(g.paused_left),
            "overtime": g.overtime,
            "hands": [[h.member_id, to_db(h.raised_at)] for h in g.hands],
            "passed": list(g.passed),
            "turns": [
                [t.member_id, to_db(t.started_at), to_db(t.ended_at), t.end.value] for t in g.turns
            ],
            "gather_until": _t(g.gather_until),
            "began_at": _t(g.began_at),
            "ended_at": _t(g.ended_at),
            "abandoned": g.abandoned,
        },
        separators=(",", ":"),
    )


def load(text: str) -> Gathering:
    data = json.loads(text)
    o = data["options"]
    return Gathering(
        options=Options(
            mode=Mode(o["mode"]),
            order=Order(o["order"]),
            share=_d(o["share"]),
            on_timeout=OnTimeout(o["on_timeout"]),
            open_floor_after=o["open_floor_after"],
            progressive=o["progressive"],
            gather_for=_d(o["gather_for"]),
            mute_others=bool(o.get("mute_others", False)),
        ),
        facilitator_id=data["facilitator_id"],
        created_at=from_db(data["created_at"]),
        phase=Phase(data["phase"]),
        seats=tuple(Seat(m, n) for m, n in data["seats"]),
        queue=tuple(data["queue"]),
        holder=data["holder"],
        turn=data["turn"],
        turn_started_at=_f(data["turn_started_at"]),
        deadline=_f(data["deadline"]),
        paused_left=_d(data["paused_left"]),
        overtime=data["overtime"],
        hands=tuple(Hand(m, from_db(at)) for m, at in data["hands"]),
        passed=tuple(data["passed"]),
        turns=tuple(Turn(m, from_db(a), from_db(b), TurnEnd(e)) for m, a, b, e in data["turns"]),
        gather_until=_f(data["gather_until"]),
        began_at=_f(data["began_at"]),
        ended_at=_f(data["ended_at"]),
        abandoned=bool(data.get("abandoned", False)),
    )


def _stored(row: Any) -> StoredGathering:
    return StoredGathering(
        id=int(row["id"]),
        guild_id=int(row["guild_id"]),
        circle_id=int(row["circle_id"]),
        channel_id=int(row["channel_id"]),
        message_id=None if row["message_id"] is None else int(row["message_id"]),
        version=int(row["version"]),
        gathering=load(row["state"]),
    )


async def create(
    tx: Tx, guild_id: int, circle_id: int, channel_id: int, g: Gathering
) -> StoredGathering | None:
    """A new live gathering; None when the channel already has one (the unique index decides)."""
    gathering_id = await tx.insert(
        "INSERT INTO talk_gatherings (guild_id, circle_id, channel_id, live, version, state, "
        "created_at) VALUES (?, ?, ?, 1, 0, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        (guild_id, circle_id, channel_id, dump(g), to_db(g.created_at)),
    )
    return None if gathering_id is None else await get(tx, gathering_id)


async def get(tx: Tx, gathering_id: int, *, for_update: bool = False) -> StoredGathering | None:
    row = await tx.fetchone(
        "SELECT * FROM talk_gatherings WHERE id = ?" + (tx.for_update() if for_update else ""),
        (gathering_id,),
    )
    return None if row is None else _stored(row)


async def live_in_channel(tx: Tx, channel_id: int) -> StoredGathering | None:
    row = await tx.fetchone(
        "SELECT * FROM talk_gatherings WHERE channel_id = ? AND live IS NOT NULL", (channel_id,)
    )
    return None if row is None else _stored(row)


async def live_in_guild(tx: Tx, guild_id: int) -> list[StoredGathering]:
    rows = await tx.fetchall(
        "SELECT * FROM talk_gatherings WHERE guild_id = ? AND live IS NOT NULL ORDER BY id",
        (guild_id,),
    )
    return [_stored(r) for r in rows]


async def guilds_with_mutes(tx: Tx) -> list[int]:
    rows = await tx.fetchall("SELECT DISTINCT guild_id FROM talk_mutes ORDER BY guild_id")
    return [int(r["guild_id"]) for r in rows]


async def guilds_muting(tx: Tx, user_id: int) -> list[int]:
    """The servers where the bot holds a mute it placed on this member."""
    rows = await tx.fetchall(
        "SELECT guild_id FROM talk_mutes WHERE user_id = ? ORDER BY guild_id", (user_id,)
    )
    return [int(r["guild_id"]) for r in rows]


async def live_ids(tx: Tx) -> list[int]:
    rows = await tx.fetchall("SELECT id FROM talk_gatherings WHERE live IS NOT NULL ORDER BY id")
    return [int(r["id"]) for r in rows]


async def save(tx: Tx, stored: StoredGathering, g: Gathering) -> bool:
    """Compare-and-set: False (nothing written) when someone saved another version first."""
    return (
        await tx.execute(
            "UPDATE talk_gatherings SET state = ?, version = version + 1, live = ?, ended_at = ? "
            "WHERE id = ? AND version = ?",
            (
                dump(g),
                1 if g.live else None,
                _t(g.ended_at),
                stored.id,
                stored.version,
            ),
        )
        == 1
    )


async def set_message(tx: Tx, gathering_id: int, message_id: int) -> None:
    await tx.execute(
        "UPDATE talk_gatherings SET message_id = ? WHERE id = ?", (message_id, gathering_id)
    )


async def record_airtime(
    tx: Tx, gathering_id: int, guild_id: int, airtime: dict[int, tuple[int, timedelta]]
) -> None:
    await tx.executemany(
        "INSERT INTO talk_airtime (gathering_id, user_id, guild_id, turns, seconds) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [
            (gathering_id, member, guild_id, turns, round(held.total_seconds()))
            for member, (turns, held) in airtime.items()
        ],
    )


async def airtime(tx: Tx, gathering_id: int) -> dict[int, tuple[int, timedelta]]:
    rows = await tx.fetchall(
        "SELECT user_id, turns, seconds FROM talk_airtime WHERE gathering_id = ?", (gathering_id,)
    )
    return {
        int(r["user_id"]): (int(r["turns"]), timedelta(seconds=int(r["seconds"]))) for r in rows
    }


# -- voice mutes the bot placed (and so must lift)


async def note_muted(tx: Tx, guild_id: int, user_id: int, gathering_id: int, at: datetime) -> None:
    await tx.execute(
        "INSERT INTO talk_mutes (guild_id, user_id, gathering_id, muted_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (guild_id, user_id, gathering_id, to_db(at)),
    )


async def forget_muted(tx: Tx, guild_id: int, user_id: int) -> bool:
    return (
        await tx.execute(
            "DELETE FROM talk_mutes WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )
        > 0
    )


async def muted_by_bot(tx: Tx, guild_id: int, gathering_id: int | None = None) -> set[int]:
    if gathering_id is None:
        rows = await tx.fetchall("SELECT user_id FROM talk_mutes WHERE guild_id = ?", (guild_id,))
    else:
        rows = await tx.fetchall(
            "SELECT user_id FROM talk_mutes WHERE guild_id = ? AND gathering_id = ?",
            (guild_id, gathering_id),
        )
    return {int(r["user_id"]) for r in rows}
