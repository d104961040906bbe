"""Asks, additions, offers, routing, capacity, reveals, thanks and the time bank.

Free text is encrypted with the TextCipher. Double clicks and concurrent offers are settled
by the database: an offer is a primary key (member, ask), an acceptance a conditional
update, and accepting a helper serializes on that helper so two asks accepted at the same
moment cannot push them past their cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.domain.help_requests import (
    Ask,
    AskText,
    Candidate,
    Capacity,
    CapacityState,
    HelpSettings,
    Kind,
    LedgerEntry,
    Outcome,
)
from bot.storage.crypto import TextCipher
from bot.storage.database import Tx
from bot.storage.repositories import outbox as outbox_repo
from bot.timeutil import from_db, to_db

WITHDRAWN_NOTICE = "help-withdrawn"  # an outbox kind: the thread says the ask was withdrawn


def _time(value: Any) -> datetime | None:
    return None if value is None else from_db(value)


# -- circle settings -------------------------------------------------------------------------

SETTING_COLUMNS = frozenset({"help_channel_id", "gratitude_channel_id", "idle_days", "time_bank"})


async def settings(tx: Tx, circle_id: int) -> HelpSettings:
    row = await tx.fetchone("SELECT * FROM help_circle_settings WHERE circle_id = ?", (circle_id,))
    if row is None:
        return HelpSettings()
    return HelpSettings(
        help_channel_id=row["help_channel_id"],
        gratitude_channel_id=row["gratitude_channel_id"],
        idle_days=int(row["idle_days"]),
        time_bank=bool(row["time_bank"]),
    )


async def set_setting(tx: Tx, circle_id: int, guild_id: int, column: str, value: Any) -> None:
    if column not in SETTING_COLUMNS:
        raise ValueError(column)
    await tx.execute(
        f"INSERT INTO help_circle_settings (circle_id, guild_id, {column}) VALUES (?, ?, ?) "
        f"ON CONFLICT (circle_id) DO UPDATE SET {column} = excluded.{column}",
        (circle_id, guild_id, value),
    )


# -- asks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewAsk:
    circle_id: int
    guild_id: int
    requester_id: int
    kind: Kind
    anonymous: bool
    text: AskText
    flagged: bool
    channel_id: int
    at: datetime


def _ask(row: Any, cipher: TextCipher) -> Ask:
    return Ask(
        id=int(row["id"]),
        circle_id=int(row["circle_id"]),
        guild_id=int(row["guild_id"]),
        requester_id=int(row["requester_id"]),
        kind=Kind(row["kind"]),
        anonymous=bool(row["anonymous"]),
        text=AskText(
            cipher.decrypt(row["what"]),
            cipher.decrypt_optional(row["when_where"]),
            cipher.decrypt_optional(row["enough"]),
        ),
        flagged=bool(row["flagged"]),
        channel_id=int(row["channel_id"]),
        thread_id=row["thread_id"],
        created_at=from_db(row["created_at"]),
        last_activity_at=from_db(row["last_activity_at"]),
        care_asked_at=_time(row["care_asked_at"]),
        closed_at=_time(row["closed_at"]),
        outcome=None if row["outcome"] is None else Outcome(row["outcome"]),
    )


async def create_ask(tx: Tx, cipher: TextCipher, ask: NewAsk) -> int:
    ask_id = await tx.insert(
        "INSERT INTO help_asks (circle_id, guild_id, requester_id, kind, anonymous, what, "
        "when_where, enough, flagged, channel_id, created_at, last_activity_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            ask.circle_id,
            ask.guild_id,
            ask.requester_id,
            ask.kind.value,
            int(ask.anonymous),
            cipher.encrypt(ask.text.what),
            cipher.encrypt_optional(ask.text.when),
            cipher.encrypt_optional(ask.text.enough),
            int(ask.flagged),
            ask.channel_id,
            to_db(ask.at),
            to_db(ask.at),
        ),
    )
    assert ask_id is not None
    return ask_id


async def get_ask(tx: Tx, cipher: TextCipher, ask_id: int, *, hold: bool = False) -> Ask | None:
    """`hold` (inside a write): lock the ask's row until the transaction ends."""
    row = await tx.fetchone(
        "SELECT * FROM help_asks WHERE id = ?" + (tx.for_update() if hold else ""), (ask_id,)
    )
    return None if row is None else _ask(row, cipher)


async def hold_requester(tx: Tx, requester_id: int) -> None:
    """One ask at a time per member: the open-ask cap and the rate count rows not yet written."""
    await tx.serialize(f"help-asker:{requester_id}")


async def open_ask_count(tx: Tx, requester_id: int) -> int:
    return int(
        await tx.scalar(
            "SELECT COUNT(*) FROM help_asks WHERE requester_id = ? AND closed_at IS NULL",
            (requester_id,),
        )
    )


async def ask_times_since(tx: Tx, requester_id: int, since: datetime) -> list[datetime]:
    rows = await tx.fetchall(
        "SELECT created_at FROM help_asks WHERE requester_id = ? AND created_at > ? "
        "ORDER BY created_at",
        (requester_id, to_db(since)),
    )
    return [from_db(r["created_at"]) for r in rows]


async def open_asks_of(tx: Tx, cipher: TextCipher, requester_id: int) -> list[Ask]:
    rows = await tx.fetchall(
        "SELECT * FROM help_asks WHERE requester_id = ? AND closed_at IS NULL ORDER BY id",
        (requester_id,),
    )
    return [_ask(r, cipher) for r in rows]


async def set_thread(tx: Tx, ask_id: int, thread_id: int) -> None:
    await tx.execute("UPDATE help_asks SET thread_id = ? WHERE id = ?", (thread_id, ask_id))


async def touch(tx: Tx, ask_id: int, at: datetime) -> None:
    """Activity on an open ask: idle care waits again from now."""
    await tx.execute(
        "UPDATE help_asks SET last_activity_at = ? WHERE id = ? AND closed_at IS NULL",
        (to_db(at), ask_id),
    )


async def mark_care_asked(tx: Tx, ask_id: int, at: datetime) -> None:
    await tx.execute("UPDATE help_asks SET care_asked_at = ? WHERE id = ?", (to_db(at), ask_id))


async def close_ask(tx: Tx, ask_id: int, at: datetime, outcome: Outcome) -> bool:
    """Close once: False when it was already closed (a second click, a race with idle care)."""
    changed = await tx.execute(
        "UPDATE help_asks SET closed_at = ?, outcome = ? WHERE id = ? AND closed_at IS NULL",
        (to_db(at), outcome.value, ask_id),
    )
    return changed > 0


# -- additions (the asker's own words, added later, anonymously if the ask is) -----------------


async def add_addition(tx: Tx, cipher: TextCipher, ask: Ask, text: str, at: datetime) -> int:
    addition_id = await tx.insert(
        "INSERT INTO help_additions (ask_id, guild_id, requester_id, text, added_at) "
        "VALUES (?, ?, ?, ?, ?) RETURNING id",
        (ask.id, ask.guild_id, ask.requester_id, cipher.encrypt(text), to_db(at)),
    )
    assert addition_id is not None
    return addition_id


async def addition_text(tx: Tx, cipher: TextCipher, addition_id: int) -> tuple[int, str] | None:
    row = await tx.fetchone("SELECT ask_id, text FROM help_additions WHERE id = ?", (addition_id,))
    return None if row is None else (int(row["ask_id"]), cipher.decrypt(row["text"]))


# -- offers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    ask_id: int
    offerer_id: int
    offered_at: datetime
    accepted_at: datetime | None


async def add_offer(tx: Tx, ask: Ask, offerer_id: int, at: datetime) -> bool:
    """False when this member already offered (a double click)."""
    changed = await tx.execute(
        "INSERT INTO help_offers (ask_id, offerer_id, guild_id, offered_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (ask.id, offerer_id, ask.guild_id, to_db(at)),
    )
    return changed > 0


async def get_offer(tx: Tx, ask_id: int, offerer_id: int) -> Offer | None:
    row = await tx.fetchone(
        "SELECT * FROM help_offers WHERE ask_id = ? AND offerer_id = ?", (ask_id, offerer_id)
    )
    return None if row is None else _offer(row)


def _offer(row: Any) -> Offer:
    return Offer(
        int(row["ask_id"]),
        int(row["offerer_id"]),
        from_db(row["offered_at"]),
        _time(row["accepted_at"]),
    )


async def offers(tx: Tx, ask_id: int) -> list[Offer]:
    rows = await tx.fetchall(
        "SELECT * FROM help_offers WHERE ask_id = ? ORDER BY offered_at, offerer_id", (ask_id,)
    )
    return [_offer(r) for r in rows]


async def hold_helper(tx: Tx, helper_id: int) -> None:
    await tx.serialize(f"help-helper:{helper_id}")


async def accept_offer(tx: Tx, ask_id: int, offerer_id: int, at: datetime) -> bool:
    """Accept once: False when already accepted (a double click) or never offered."""
    changed = await tx.execute(
        "UPDATE help_offers SET accepted_at = ? WHERE ask_id = ? AND offerer_id = ? "
        "AND accepted_at IS NULL",
        (to_db(at), ask_id, offerer_id),
    )
    return changed > 0


async def open_helps(tx: Tx, helper_id: int) -> int:
    return int(
        await tx.scalar(
            "SELECT COUNT(*) FROM help_offers o JOIN help_asks a ON a.id = o.ask_id "
            "WHERE o.offerer_id = ? AND o.accepted_at IS NOT NULL AND a.closed_at IS NULL",
            (helper_id,),
        )
    )


# -- routing -----------------------------------------------------------------------------------


def _capacity(row: Any) -> Capacity:
    return Capacity(
        member_id=int(row["user_id"]),
        state=CapacityState(row["state"]),
        until=None if row["until"] is None else date.fromisoformat(row["until"]),
        kinds=frozenset(Kind(k) for k in row["kinds"].split(",")),
        max_helps=int(row["max_helps"]),
    )


async def candidates(tx: Tx, guild_id: int, member_ids: list[int]) -> list[Candidate]:
    """Routing's view of these members: capacity, open helps, when they last helped and
    when an emotional help of theirs last resolved. Members with no capacity set are left
    out (capacity is opt-in)."""
    if not member_ids:
        return []
    marks = ",".join("?" * len(member_ids))
    rows = await tx.fetchall(
        f"SELECT * FROM help_capacity WHERE guild_id = ? AND user_id IN ({marks})",
        [guild_id, *member_ids],
    )
    capacities = {int(r["user_id"]): _capacity(r) for r in rows}
    if not capacities:
        return []
    ids = list(capacities)
    marks = ",".join("?" * len(ids))
    stats = await tx.fetchall(
        "SELECT o.offerer_id AS uid, "
        "SUM(CASE WHEN a.closed_at IS NULL THEN 1 ELSE 0 END) AS open_helps, "
        "MAX(o.accepted_at) AS last_helped, "
        "MAX(CASE WHEN a.kind = 'emotional' AND a.outcome = 'resolved' THEN a.closed_at END) "
        "AS last_emotional "
        "FROM help_offers o JOIN help_asks a ON a.id = o.ask_id "
        f"WHERE o.accepted_at IS NOT NULL AND o.offerer_id IN ({marks}) GROUP BY o.offerer_id",
        ids,
    )
    by_id = {int(r["uid"]): r for r in stats}
    found = []
    for member_id, capacity in capacities.items():
        row = by_id.get(member_id)
        found.append(
            Candidate(
                member_id,
                capacity,
                open_helps=int(row["open_helps"] or 0) if row else 0,
                last_helped_at=_time(row["last_helped"]) if row else None,
                last_emotional_help_at=_time(row["last_emotional"]) if row else None,
            )
        )
    return found


async def record_routes(tx: Tx, ask: Ask, user_ids: list[int], at: datetime) -> list[int]:
    """Note who was told; the ones newly noted (a re-run tells no one twice)."""
    told = []
    for user_id in user_ids:
        changed = await tx.execute(
            "INSERT INTO help_routes (ask_id, user_id, guild_id, routed_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (ask.id, user_id, ask.guild_id, to_db(at)),
        )
        if changed:
            told.append(user_id)
    return told


async def routed_ids(tx: Tx, ask_id: int) -> list[int]:
    rows = await tx.fetchall(
        "SELECT user_id FROM help_routes WHERE ask_id = ? ORDER BY routed_at, user_id", (ask_id,)
    )
    return [int(r["user_id"]) for r in rows]


# -- capacity ------------------------------------------------------------------------------------


async def get_capacity(tx: Tx, guild_id: int, user_id: int) -> Capacity | None:
    row = await tx.fetchone(
        "SELECT * FROM help_capacity WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    return None if row is None else _capacity(row)


async def capacities(tx: Tx, guild_id: int, user_ids: list[int]) -> list[Capacity]:
    if not user_ids:
        return []
    marks = ",".join("?" * len(user_ids))
    rows = await tx.fetchall(
        f"SELECT * FROM help_capacity WHERE guild_id = ? AND user_id IN ({marks})",
        [guild_id, *user_ids],
    )
    return [_capacity(r) for r in rows]


async def set_capacity(tx: Tx, guild_id: int, capacity: Capacity, at: datetime) -> None:
    await tx.execute(
        "INSERT INTO help_capacity (guild_id, user_id, state, until, kinds, max_helps, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET "
        "state = excluded.state, until = excluded.until, kinds = excluded.kinds, "
        "max_helps = excluded.max_helps, updated_at = excluded.updated_at",
        (
            guild_id,
            capacity.member_id,
            capacity.state.value,
            None if capacity.until is None else capacity.until.isoformat(),
            ",".join(k.value for k in Kind if k in capacity.kinds),
            capacity.max_helps,
            to_db(at),
        ),
    )


# -- reveals -------------------------------------------------------------------------------------


async def add_reveal(
    tx: Tx, cipher: TextCipher, ask: Ask, revealed_by: int, reason: str, at: datetime
) -> int:
    reveal_id = await tx.insert(
        "INSERT INTO help_reveals (ask_id, guild_id, requester_id, revealed_by_user_id, reason, "
        "revealed_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (ask.id, ask.guild_id, ask.requester_id, revealed_by, cipher.encrypt(reason), to_db(at)),
    )
    assert reveal_id is not None
    return reveal_id


async def get_reveal(tx: Tx, cipher: TextCipher, reveal_id: int) -> tuple[int, int, str] | None:
    """(ask id, who revealed, the reason)."""
    row = await tx.fetchone("SELECT * FROM help_reveals WHERE id = ?", (reveal_id,))
    if row is None:
        return None
    return int(row["ask_id"]), int(row["revealed_by_user_id"]), cipher.decrypt(row["reason"])


# -- thanks --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thanks:
    id: int
    guild_id: int
    circle_id: int | None
    giver_id: int
    recipient_id: int
    note: str | None
    private: bool


async def hold_giver(tx: Tx, giver_id: int) -> None:
    await tx.serialize(f"help-thanks:{giver_id}")


async def thanked_since(tx: Tx, giver_id: int, since: datetime) -> list[int]:
    rows = await tx.fetchall(
        "SELECT recipient_user_id FROM help_thanks WHERE giver_user_id = ? AND given_at > ?",
        (giver_id, to_db(since)),
    )
    return [int(r["recipient_user_id"]) for r in rows]


async def add_thanks(
    tx: Tx,
    cipher: TextCipher,
    guild_id: int,
    circle_id: int | None,
    giver_id: int,
    recipient_id: int,
    note: str | None,
    private: bool,
    at: datetime,
) -> int:
    thanks_id = await tx.insert(
        "INSERT INTO help_thanks (guild_id, circle_id, giver_user_id, recipient_user_id, note, "
        "private, given_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            guild_id,
            circle_id,
            giver_id,
            recipient_id,
            cipher.encrypt_optional(note),
            int(private),
            to_db(at),
        ),
    )
    assert thanks_id is not None
    return thanks_id


async def get_thanks(tx: Tx, cipher: TextCipher, thanks_id: int) -> Thanks | None:
    row = await tx.fetchone("SELECT * FROM help_thanks WHERE id = ?", (thanks_id,))
    if row is None:
        return None
    return Thanks(
        int(row["id"]),
        int(row["guild_id"]),
        row["circle_id"],
        int(row["giver_user_id"]),
        int(row["recipient_user_id"]),
        cipher.decrypt_optional(row["note"]),
        bool(row["private"]),
    )


# -- the time bank -------------------------------------------------------------------------------


async def confirm_time(
    tx: Tx, ask: Ask, helper_id: int, *, by_asker: bool, minutes: int
) -> LedgerEntry:
    column = "asker_minutes" if by_asker else "helper_minutes"
    await tx.execute(
        f"INSERT INTO help_ledger (ask_id, helper_user_id, guild_id, {column}) VALUES (?, ?, ?, ?) "
        f"ON CONFLICT (ask_id, helper_user_id) DO UPDATE SET {column} = excluded.{column}",
        (ask.id, helper_id, ask.guild_id, minutes),
    )
    row = await tx.fetchone(
        "SELECT * FROM help_ledger WHERE ask_id = ? AND helper_user_id = ?", (ask.id, helper_id)
    )
    assert row is not None
    return _entry(row)


def _entry(row: Any) -> LedgerEntry:
    return LedgerEntry(
        int(row["ask_id"]), int(row["helper_user_id"]), row["asker_minutes"], row["helper_minutes"]
    )


async def ledger_given(tx: Tx, guild_id: int, helper_id: int) -> list[LedgerEntry]:
    rows = await tx.fetchall(
        "SELECT * FROM help_ledger WHERE guild_id = ? AND helper_user_id = ?", (guild_id, helper_id)
    )
    return [_entry(r) for r in rows]


async def ledger_received(tx: Tx, guild_id: int, requester_id: int) -> list[LedgerEntry]:
    rows = await tx.fetchall(
        "SELECT l.* FROM help_ledger l JOIN help_asks a ON a.id = l.ask_id "
        "WHERE l.guild_id = ? AND a.requester_id = ?",
        (guild_id, requester_id),
    )
    return [_entry(r) for r in rows]


# -- balance -------------------------------------------------------------------------------------


async def balance_counts(tx: Tx, circle_id: int, since: datetime) -> dict[int, tuple[int, int]]:
    """Per member of the circle: (asks made, helps given) since `since`."""
    counts: dict[int, list[int]] = {}
    for row in await tx.fetchall(
        "SELECT requester_id AS uid, COUNT(*) AS n FROM help_asks "
        "WHERE circle_id = ? AND created_at >= ? GROUP BY requester_id",
        (circle_id, to_db(since)),
    ):
        counts.setdefault(int(row["uid"]), [0, 0])[0] = int(row["n"])
    for row in await tx.fetchall(
        "SELECT o.offerer_id AS uid, COUNT(*) AS n FROM help_offers o "
        "JOIN help_asks a ON a.id = o.ask_id WHERE a.circle_id = ? AND o.accepted_at >= ? "
        "GROUP BY o.offerer_id",
        (circle_id, to_db(since)),
    ):
        counts.setdefault(int(row["uid"]), [0, 0])[1] = int(row["n"])
    return {uid: (pair[0], pair[1]) for uid, pair in counts.items()}


# -- erasure -------------------------------------------------------------------------------------


async def owe_withdrawn_notices(tx: Tx, user_id: int) -> int:
    """Before a member's data is erased: each of their open asks' threads is owed a line
    saying the ask was withdrawn. The delivery carries the thread's id only (no member id,
    no text), so it survives the erasure; it is dated the ask's last activity (no clock here),
    which is in the past, so it is due at once."""
    rows = await tx.fetchall(
        "SELECT id, guild_id, thread_id, last_activity_at FROM help_asks "
        "WHERE requester_id = ? AND closed_at IS NULL AND thread_id IS NOT NULL",
        (user_id,),
    )
    for row in rows:
        await outbox_repo.enqueue(
            tx,
            WITHDRAWN_NOTICE,
            f"{WITHDRAWN_NOTICE}:{row['thread_id']}",
            from_db(row["last_activity_at"]),
            {"thread_id": int(row["thread_id"])},
            guild_id=int(row["guild_id"]),
        )
    return len(rows)
