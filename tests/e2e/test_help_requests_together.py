"""A circle acts at once: many members offer in the same moment, double clicks, two asks
accepting one helper at the same time, and Discord's active-thread limit."""

from __future__ import annotations

from datetime import timedelta

from bot.localdiscord.driver import together
from bot.storage.repositories import help_requests as help_repo
from tests.e2e import help_helpers as hh
from tests.e2e.conftest import World, run_due


async def test_many_members_offering_at_once_and_double_clicks(world: World) -> None:
    sam = world.sam
    helpers = [world.guild.add_member(f"Helper {n}") for n in range(6)]
    channel = await hh.circle(world, "Crowd Circle", sam, *helpers)
    await hh.ask(sam, channel, what="Help setting up a laptop")
    await run_due(world.bot)
    opening = hh.opening(hh.thread(channel))
    clicks = [h.click("I can help", message=opening) for h in helpers for _ in range(2)]
    replies = await together(*clicks, seed=12)
    assert all(r.ephemeral for r in replies)
    assert sum("told privately" in r.text for r in replies) == len(helpers)
    assert sum("already offered" in r.text for r in replies) == len(helpers)
    await run_due(world.bot)
    offer_dms = [m for m in sam.dms if "offered to help" in m.text]
    assert sorted(m.text.split(">")[0] for m in offer_dms) == sorted(f"<@{h.id}" for h in helpers)
    async with world.bot.resources.db.read() as tx:
        ask_id = int(await tx.scalar("SELECT MAX(id) FROM help_asks"))
        assert len(await help_repo.offers(tx, ask_id)) == len(helpers)


async def test_two_asks_accepting_a_limited_helper_at_once_get_one(world: World) -> None:
    sam, noor, kai = world.sam, world.noor, world.kai
    channel = await hh.circle(world, "Race Circle", sam, noor, kai)
    await hh.capacity(kai, channel, "limited")  # room for one help at a time
    await hh.ask(sam, channel, what="A ride on Monday", when=None)
    await hh.ask(noor, channel, what="A ride on Tuesday", when=None)
    await run_due(world.bot)
    for thread in channel.threads:
        await kai.click("I can help", message=hh.opening(thread))
    await run_due(world.bot)
    [to_sam] = [m for m in sam.dms if "offered to help" in m.text]
    [to_noor] = [m for m in noor.dms if "offered to help" in m.text]
    first, second = await together(
        sam.click("Accept", message=to_sam), noor.click("Accept", message=to_noor), seed=3
    )
    texts = sorted([first.text, second.text])
    assert sum(t.startswith("Accepted") for t in texts) == 1, texts
    assert sum("as much as they said they have room for" in t for t in texts) == 1, texts
    async with world.bot.resources.db.read() as tx:
        assert await help_repo.open_helps(tx, kai.id) == 1


async def test_at_the_active_thread_limit_an_ask_waits_for_a_slot(world: World) -> None:
    sam = world.sam
    channel = await hh.circle(world, "Full Circle", sam)
    saved = world.server.max_active_threads
    world.server.max_active_threads = sum(1 for t in world.guild.threads if not t.archived) + 1
    try:
        await hh.ask(sam, channel, what="First thing", when=None)
        await run_due(world.bot)
        waiting = await hh.ask(sam, channel, what="Second thing", when=None)
        assert f"<#{channel.id}> shortly" in waiting.text, waiting.describe()
        await world.advance(timedelta(minutes=1))
        assert len(channel.threads) == 1  # still full: kept, not given up
        await sam.click("Resolved", message=hh.opening(channel.threads[0]))
        await run_due(world.bot)
        await world.advance(timedelta(minutes=5))
        assert [t.name for t in channel.threads] == [
            "Practical · First thing",
            "Practical · Second thing",
        ]
    finally:
        world.server.max_active_threads = saved
