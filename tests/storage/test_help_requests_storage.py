"""Help requests' storage on both backends: the database guards, encryption, erasure."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from bot.domain.help_requests import AskText, Capacity, CapacityState, Kind, Outcome
from bot.storage import member_data
from bot.storage.crypto import TextCipher
from bot.storage.database import Database
from bot.storage.repositories import circles as circles_repo
from bot.storage.repositories import help_requests as repo
from bot.storage.repositories import outbox as outbox_repo

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
GUILD = 5001
ASKER, HELPER, OTHER = 700000000000000011, 12, 13
SECRET = "a ride to my appointment on Tuesday"


async def _ask(db: Database, cipher: TextCipher, *, anonymous: bool = True) -> int:
    async with db.transaction() as tx:
        circle = await circles_repo.by_name(tx, GUILD, "Help") or await circles_repo.create(
            tx, GUILD, "Help", 77, "UTC", NOW
        )
        ask_id = await repo.create_ask(
            tx,
            cipher,
            repo.NewAsk(
                circle.id,
                GUILD,
                ASKER,
                Kind.PRACTICAL,
                anonymous,
                AskText(SECRET, "Tue 2pm", None),
                False,
                77,
                NOW,
            ),
        )
        await repo.set_thread(tx, ask_id, 9000 + ask_id)
    return ask_id


async def test_ask_text_is_encrypted_at_rest(db: Database, cipher: TextCipher) -> None:
    ask_id = await _ask(db, cipher)
    async with db.read() as tx:
        raw = await tx.fetchone("SELECT what, when_where FROM help_asks WHERE id = ?", (ask_id,))
        ask = await repo.get_ask(tx, cipher, ask_id)
    assert raw is not None and SECRET.encode() not in bytes(raw["what"])
    assert ask is not None and ask.text.what == SECRET and ask.text.when == "Tue 2pm"


async def test_a_double_click_offers_once_and_accepts_once(
    db: Database, cipher: TextCipher
) -> None:
    ask_id = await _ask(db, cipher)

    async def offer() -> bool:
        async with db.transaction() as tx:
            ask = await repo.get_ask(tx, cipher, ask_id, hold=True)
            assert ask is not None
            return await repo.add_offer(tx, ask, HELPER, NOW)

    async def accept() -> bool:
        async with db.transaction() as tx:
            await repo.hold_helper(tx, HELPER)
            return await repo.accept_offer(tx, ask_id, HELPER, NOW)

    assert sorted(await asyncio.gather(offer(), offer(), offer())) == [False, False, True]
    assert sorted(await asyncio.gather(accept(), accept())) == [False, True]
    async with db.read() as tx:
        offers = await repo.offers(tx, ask_id)
        assert await repo.open_helps(tx, HELPER) == 1
    assert [(o.offerer_id, o.accepted_at is not None) for o in offers] == [(HELPER, True)]


async def test_close_happens_once(db: Database, cipher: TextCipher) -> None:
    ask_id = await _ask(db, cipher)

    async def close(outcome: Outcome) -> bool:
        async with db.transaction() as tx:
            return await repo.close_ask(tx, ask_id, NOW, outcome)

    results = await asyncio.gather(close(Outcome.RESOLVED), close(Outcome.IDLE))
    assert sorted(results) == [False, True]


async def test_candidates_count_open_helps_and_emotional_cooldown(
    db: Database, cipher: TextCipher
) -> None:
    ask_id = await _ask(db, cipher)
    async with db.transaction() as tx:
        for user in (HELPER, OTHER):
            await repo.set_capacity(tx, GUILD, Capacity(user, CapacityState.AVAILABLE), NOW)
        ask = await repo.get_ask(tx, cipher, ask_id)
        assert ask is not None
        await repo.add_offer(tx, ask, HELPER, NOW)
        await repo.accept_offer(tx, ask_id, HELPER, NOW)
    async with db.read() as tx:
        found = {c.member_id: c for c in await repo.candidates(tx, GUILD, [HELPER, OTHER, 99])}
    assert set(found) == {HELPER, OTHER}  # 99 never set capacity: not a candidate
    assert (found[HELPER].open_helps, found[HELPER].last_helped_at) == (1, NOW)
    assert (found[OTHER].open_helps, found[OTHER].last_helped_at) == (0, None)


async def test_export_shows_own_anonymous_ask_and_no_one_elses_identity(
    db: Database, cipher: TextCipher
) -> None:
    ask_id = await _ask(db, cipher)
    async with db.transaction() as tx:
        ask = await repo.get_ask(tx, cipher, ask_id)
        assert ask is not None
        await repo.add_offer(tx, ask, HELPER, NOW)
        await repo.confirm_time(tx, ask, HELPER, by_asker=False, minutes=30)
        await repo.record_routes(tx, ask, [HELPER], NOW)
    async with db.read() as tx:
        mine = await member_data.export_member(tx, cipher, ASKER)
        helper = await member_data.export_member(tx, cipher, HELPER)
    assert mine["help_asks"][0]["what"] == SECRET and mine["help_asks"][0]["anonymous"] == 1
    helper_text = json.dumps(helper)
    assert set(helper) == {"help_offers", "help_ledger", "help_routes"}
    assert str(ASKER) not in helper_text and SECRET not in helper_text


async def test_erasing_an_asker_owes_their_open_threads_a_withdrawn_line(
    db: Database, cipher: TextCipher
) -> None:
    open_id = await _ask(db, cipher)
    closed_id = await _ask(db, cipher)
    async with db.transaction() as tx:
        await repo.close_ask(tx, closed_id, NOW, Outcome.RESOLVED)
    async with db.transaction() as tx:
        await member_data.delete_member(tx, ASKER)
    async with db.read() as tx:
        due = await outbox_repo.due(tx, NOW + timedelta(seconds=1))
        left = await tx.scalar("SELECT COUNT(*) FROM help_asks")
    assert left == 0
    assert [(d.kind, d.payload, d.user_id) for d in due] == [
        (repo.WITHDRAWN_NOTICE, {"thread_id": 9000 + open_id}, None)
    ]


async def test_an_erased_asks_id_is_never_reused(db: Database, cipher: TextCipher) -> None:
    """What an ask owes is keyed by its id in the outbox, which outlives an erased ask."""
    first = await _ask(db, cipher)
    async with db.transaction() as tx:
        await member_data.delete_member(tx, ASKER)
    assert await _ask(db, cipher) > first
