"""`/crisisplan` end to end: the real bot through the local Discord server, on both backends.

The plan is written in two forms, each saved on its own; it is shown only to its author,
in a server or a DM, and reaches one other person only through `share`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import discord.gateway
import discord.http

from bot.clock import FakeClock
from bot.domain.crisisplan import SECTION_MAX
from bot.localdiscord import Member, together
from bot.localdiscord.driver import Reply
from bot.replies import SORRY
from bot.sandbox.harness import running_bot
from bot.storage.repositories import crisisplan as repo
from tests.e2e.conftest import World
from tests.e2e.embed_text import text_of
from tests.e2e.strict import assert_spec_clean, strict_server

PART_ONE = {
    "Warning signs": "I stop answering messages",
    "Things I can do on my own": "a cold shower, a walk round the block",
    "People and places that distract me": "the library; my cousin Jo",
    "People I can ask for help": "Mum 07700 900123",
}
PART_TWO = {
    "Professionals and lines": "Dr Patel, surgery 01632 960 001",
    "Making my surroundings safer": "give my spare keys to Jo",
    "My reasons to keep going": "my cat Miso",
}


async def write_plan(member: Member, *, dm: bool = False, **where: Any) -> Reply:
    """Both forms, as a member fills them in: part 1, then the Continue button, part 2."""
    first = await member.run("/crisisplan edit", dm=dm, **where)
    assert first.modal is not None, first.describe()
    assert first.modal.title == "My crisis plan (1 of 2)"
    assert first.modal.labels == list(PART_ONE)
    saved = await member.submit(first, PART_ONE)
    assert "Saved part 1 of 2" in saved.text, saved.describe()
    second = await member.click("Continue with part 2", message=saved)
    assert second.modal is not None, second.describe()
    done = await member.submit(second, PART_TWO)
    assert "Saved part 2 of 2" in done.text, done.describe()
    return done


def plan_files(reply: Reply) -> str:
    files = [f for m in reply.messages for f in m.files]
    assert [f.filename for f in files] == ["crisis-plan.txt"], reply.describe()
    return files[0].content.decode("utf-8")


async def test_a_plan_written_in_two_forms_is_shown_privately_as_embed_and_file(
    world: World,
) -> None:
    before = len(world.channel.messages)
    await write_plan(world.sam, channel=world.channel)

    view = await world.sam.run("/crisisplan view", channel=world.channel)
    assert view.ephemeral
    text = text_of(view.embeds)
    for value in [*PART_ONE.values(), *PART_TWO.values()]:
        assert value in text
    assert "1. Warning signs" in text and "7. My reasons to keep going" in text
    assert "Only you can see this" in view.text
    file_text = plan_files(view)
    assert "5. Professionals and lines I can contact\nDr Patel, surgery 01632 960 001" in file_text
    assert len(world.channel.messages) == before  # nothing posted where others see it

    # Encrypted at rest: the stored row holds none of the words.
    async with world.bot.resources.db.read() as tx:
        row = await tx.fetchone(
            "SELECT part1, part2 FROM crisis_plans WHERE user_id = ?", (world.sam.id,)
        )
    assert row is not None
    raw = bytes(row["part1"]) + bytes(row["part2"])
    assert b"cousin" not in raw and b"Miso" not in raw


async def test_the_plan_belongs_to_the_member_in_dms_and_in_every_server(world: World) -> None:
    await write_plan(world.kai, dm=True)
    in_server = await world.kai.run("/crisisplan view", channel=world.channel)
    assert "my cat Miso" in text_of(in_server.embeds)
    other = await world.noor.run("/crisisplan view", channel=world.channel)
    assert "don't have a crisis plan yet" in other.text
    assert "Miso" not in other.text and not other.embeds


async def test_part_two_opens_with_the_lines_for_the_members_region(world: World) -> None:
    world.sam.locale = "pt-BR"
    try:
        reply = await world.sam.run("/crisisplan edit", part=2, channel=world.channel)
    finally:
        world.sam.locale = "en-US"
    assert reply.modal is not None, reply.describe()
    prefilled = dict(reply.modal.fields)["Professionals and lines"]["value"]
    assert "CVV" in prefilled and "call 188" in prefilled
    assert prefilled.startswith("Emergency: 192 or 190")


async def test_the_crisis_card_offers_my_plan_only_to_members_with_one(world: World) -> None:
    none_yet = await world.noor.run("/crisis", channel=world.channel)
    assert none_yet.buttons == []
    await write_plan(world.noor, channel=world.channel)

    card = await world.noor.run("/crisis", channel=world.channel)
    assert card.ephemeral and card.buttons == ["My plan"]
    shown = await world.noor.click("My plan", message=card)
    assert shown.ephemeral
    assert "my cat Miso" in text_of(shown.embeds)
    plan_files(shown)

    # Shared into the channel, the card must not tell others that Noor has a plan.
    shared = await world.noor.run("/crisis", share=True, channel=world.channel)
    assert not shared.ephemeral and shared.buttons == []

    # The button shows the presser's own plan, never another's.
    others = await world.kai.click("My plan", message=card)
    assert "Miso" not in others.text and "don't have a crisis plan yet" in others.text


async def test_share_sends_one_copy_to_the_chosen_person_and_tells_the_author(
    world: World,
) -> None:
    await write_plan(world.sam, channel=world.channel)
    reply = await world.sam.run("/crisisplan share", member=world.kai, channel=world.channel)
    assert reply.ephemeral
    assert "Sent." in reply.text, reply.describe()

    copies = world.kai.dms
    assert len(copies) == 1
    assert f"<@{world.sam.id}> chose to send you a copy" in copies[0].content
    assert "my cat Miso" in text_of(copies[0].embeds)
    assert [f.filename for f in copies[0].files] == ["crisis-plan.txt"]
    assert any(f"sent to <@{world.kai.id}>" in m.content for m in world.sam.dms)
    assert world.noor.dms == [] and world.facilitator.dms == []


async def test_share_refuses_self_and_reports_closed_dms_truthfully(world: World) -> None:
    await write_plan(world.sam, channel=world.channel)
    self_share = await world.sam.run("/crisisplan share", member=world.sam, channel=world.channel)
    assert "Choose someone else" in self_share.text and SORRY not in self_share.text

    world.noor.dms_closed = True
    closed = await world.sam.run("/crisisplan share", member=world.noor, channel=world.channel)
    assert "doesn't accept DMs" in closed.text and "Nothing was shared" in closed.text

    no_plan = await world.kai.run("/crisisplan share", member=world.sam, channel=world.channel)
    assert "don't have a crisis plan yet" in no_plan.text
    assert world.sam.dms == []  # nothing reached anyone


async def test_an_overlong_section_is_refused_and_nothing_is_saved(world: World) -> None:
    await write_plan(world.sam, channel=world.channel)
    form = await world.sam.run("/crisisplan edit", part=2, channel=world.channel)
    assert form.modal is not None
    # A client that ignores the form's limit (Discord's own ceiling is 4,000).
    for _, component in form.modal.fields:
        assert component["max_length"] == SECTION_MAX
        component["max_length"] = 4001
    refused = await world.sam.submit(form, {"My reasons to keep going": "x" * 4001})
    assert refused.ephemeral and "4,001 characters" in refused.text
    assert "Nothing was saved" in refused.text and SORRY not in refused.text
    async with world.bot.resources.db.read() as tx:
        plan = await repo.get(tx, world.bot.resources.cipher, world.sam.id)
    assert plan is not None and plan.get("reasons") == "my cat Miso"


async def test_both_parts_submitted_at_once_and_double_submits_keep_everything(
    world: World,
) -> None:
    first = await world.kai.run("/crisisplan edit", part=1, channel=world.channel)
    second = await world.kai.run("/crisisplan edit", part=2, channel=world.channel)
    again = await world.kai.run("/crisisplan edit", part=2, channel=world.channel)
    results = await together(
        world.kai.submit(first, PART_ONE),
        world.kai.submit(second, PART_TWO),
        world.kai.submit(again, PART_TWO),
        seed=13,
    )
    assert all("Saved part" in r.text for r in results), [r.describe() for r in results]
    view = await world.kai.run("/crisisplan view", channel=world.channel)
    text = text_of(view.embeds)
    for value in [*PART_ONE.values(), *PART_TWO.values()]:
        assert value in text


async def test_delete_asks_first_and_then_erases_the_plan(world: World) -> None:
    await write_plan(world.noor, channel=world.channel)
    asked = await world.noor.run("/crisisplan delete", channel=world.channel)
    assert asked.buttons == ["Delete my plan", "Keep it"]
    kept = await world.noor.click("Keep it", message=asked)
    assert kept.message is not None and kept.message.content == "Your plan is kept."
    assert "Miso" in text_of((await world.noor.run("/crisisplan view")).embeds)

    asked = await world.noor.run("/crisisplan delete", channel=world.channel)
    done = await world.noor.click("Delete my plan", message=asked)
    message = done.message
    assert message is not None, done.describe()
    await world.server.wait_for(lambda: not message.content.startswith("Deleting"))
    assert message.content == "Deleted. Nothing of your crisis plan remains stored."
    assert message.buttons == []
    gone = await world.noor.run("/crisisplan view", channel=world.channel)
    assert "don't have a crisis plan yet" in gone.text
    card = await world.noor.run("/crisis", channel=world.channel)
    assert card.buttons == []


async def test_nothing_of_the_plan_reaches_the_logs(world: World, caplog: Any) -> None:
    with caplog.at_level("DEBUG"):
        await write_plan(world.sam, channel=world.channel)
        await world.sam.run("/crisisplan view", channel=world.channel)
        await world.sam.run("/crisisplan share", member=world.kai, channel=world.channel)
    # What the bot's logging lets through: INFO and up from everyone (discord.py's DEBUG
    # traces of raw payloads are off in production), and all of the bot's own records.
    logged = "\n".join(
        r.getMessage()
        for r in caplog.records
        if r.levelno >= 20 or r.name.startswith(("bot", "cogs", "aiosqlite", "asyncpg"))
    )
    for value in [*PART_ONE.values(), *PART_TWO.values()]:
        assert value not in logged


async def test_a_form_that_cannot_load_the_plan_is_not_opened_empty(
    world: World, monkeypatch: Any
) -> None:
    await write_plan(world.kai, channel=world.channel)

    async def broken(user_id: int) -> None:
        raise OSError("database unavailable")

    monkeypatch.setattr(world.bot.resources.services.crisisplan, "get", broken)
    reply = await world.kai.run("/crisisplan edit", channel=world.channel)
    assert reply.modal is None and reply.ephemeral
    assert "didn't open the form" in reply.text
    monkeypatch.undo()
    view = await world.kai.run("/crisisplan view", channel=world.channel)
    assert "my cat Miso" in text_of(view.embeds)  # nothing was overwritten


async def test_forms_and_buttons_opened_before_a_restart_still_save_after_it(
    tmp_path: Path, database_target: str | Path
) -> None:
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    db_url = database_target if isinstance(database_target, str) else None
    clock = FakeClock()
    try:
        async with strict_server() as server:
            guild = server.create_guild("Restart")
            sam = guild.add_member("Sam")
            channel = guild.create_text_channel("general")
            async with running_bot(server, tmp_path / "plan.db", clock=clock, db_url=db_url):
                await server.wait_until_connected()
                form = await sam.run("/crisisplan edit", channel=channel)
                assert form.modal is not None
            async with running_bot(server, tmp_path / "plan.db", clock=clock, db_url=db_url):
                await server.wait_until_connected()
                saved_one = await sam.submit(form, PART_ONE)
                assert "Saved part 1 of 2" in saved_one.text, saved_one.describe()
            async with running_bot(server, tmp_path / "plan.db", clock=clock, db_url=db_url):
                await server.wait_until_connected()
                second = await sam.click("Continue with part 2", message=saved_one)
                assert second.modal is not None, second.describe()
                await sam.submit(second, PART_TWO)
                card = await sam.run("/crisis", channel=channel)
                shown = await sam.click("My plan", message=card)
                text = text_of(shown.embeds)
                assert "I stop answering messages" in text and "my cat Miso" in text
            assert_spec_clean(server)
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


async def test_a_plan_with_every_section_full_is_viewable_and_the_file_keeps_every_word(
    world: World,
) -> None:
    full_one = {label: f"{label} " + "a" * (SECTION_MAX - len(label) - 1) for label in PART_ONE}
    full_two = {label: f"{label} " + "b" * (SECTION_MAX - len(label) - 1) for label in PART_TWO}
    first = await world.noor.run("/crisisplan edit", part=1, channel=world.channel)
    await world.noor.submit(first, full_one)
    second = await world.noor.run("/crisisplan edit", part=2, channel=world.channel)
    await world.noor.submit(second, full_two)

    view = await world.noor.run("/crisisplan view", channel=world.channel)
    assert view.embeds, view.describe()
    assert "Long sections are shortened here" in text_of(view.embeds)
    file_text = plan_files(view)
    for value in [*full_one.values(), *full_two.values()]:
        assert value in file_text
