"""Rotating roles end to end: volunteering, cycles with the clock moved, Swap and Skip,
paused members, restarts between cycles, the prompt holder's question, bad input."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import discord.gateway
import discord.http
import pytest

from bot.clock import FakeClock
from bot.localdiscord import Member, together
from bot.localdiscord.state import Message
from bot.replies import SORRY
from bot.sandbox.harness import running_bot
from bot.storage.repositories import roles as roles_repo
from bot.storage.repositories.jobs import StoredJob
from bot.timeutil import from_db
from tests.e2e.checkin_helpers import circle_named, create_circle, join
from tests.e2e.conftest import World, run_due
from tests.e2e.embed_text import text_of
from tests.e2e.strict import assert_spec_clean, strict_server

WEEK = timedelta(days=7)


async def circle_with_volunteers(world: World, name: str, roles: dict[str, list[Member]]) -> None:
    await create_circle(world.facilitator, name, world.channel)
    members = {m.id: m for people in roles.values() for m in people}
    for member in members.values():
        await join(member, name, world.channel)
    for role, people in roles.items():
        for member in people:
            reply = await member.run(
                "/circle volunteer", role=role, circle=name, channel=world.channel
            )
            assert "You're in the rotation" in reply.content, reply.describe()
            await world.advance(timedelta(seconds=1))  # who volunteered first goes first


def cycle_posts(world: World) -> list[Message]:
    return [
        m
        for m in world.channel.messages
        if m.embed and "This cycle's roles" in m.embed.get("title", "")
    ]


async def holders_now(world: World, name: str) -> dict[str, int | None]:
    circle = await circle_named(world.bot, world.guild.id, name)
    async with world.bot.resources.db.read() as tx:
        cycle = (await roles_repo.latest_cycles(tx, circle.id, 1))[0]
        held = await roles_repo.holders(tx, cycle.id)
    return {role: h.user_id for role, h in held.items()}


async def start_rotation(world: World, name: str) -> None:
    reply = await world.facilitator.run(
        "/facilitate circle roles", circle=name, rotation=True, channel=world.channel
    )
    assert reply.ephemeral and "On: the next cycle starts" in text_of(reply.embeds), (
        reply.describe()
    )
    await run_due(world.bot)


async def test_each_cycle_names_holders_in_the_channel_and_tells_each_privately(
    world: World,
) -> None:
    await circle_with_volunteers(
        world, "Roles", {"keeper": [world.sam, world.kai], "prompt": [world.noor]}
    )
    await start_rotation(world, "Roles")

    posts = cycle_posts(world)
    assert len(posts) == 1
    text = posts[0].text
    assert f"**Keeper** — opens and holds the live meeting: <@{world.sam.id}>" in text
    assert f"**Prompt** — picks the next check-in question: <@{world.noor.id}>" in text
    assert "**Reminder** — nudges people before the meeting: nobody this time" in text
    assert posts[0].buttons == ["Swap keeper", "Skip keeper", "Swap prompt", "Skip prompt"]
    assert any("You're **Keeper**" in m.content for m in world.sam.dms)
    assert any("Set the next question" in m.buttons for m in world.noor.dms)
    assert world.kai.dms == []

    # The next cycle, a week on (no check-in schedule): Kai keeps, Sam rests.
    await world.advance(WEEK)
    assert len(cycle_posts(world)) == 2
    assert (await holders_now(world, "Roles"))["keeper"] == world.kai.id
    # Noor is the only prompt volunteer: twice running is unavoidable, so Noor again.
    assert (await holders_now(world, "Roles"))["prompt"] == world.noor.id
    await world.advance(WEEK)
    assert (await holders_now(world, "Roles"))["keeper"] == world.sam.id

    info = await world.sam.run("/circle info", circle="Roles", channel=world.channel)
    history = {f["name"]: f["value"] for f in info.embeds[0]["fields"]}["Rotating roles"]
    assert history.count("Keeper:") == 3


# The ways a member says "not now": each keeps them from being given a role.
AWAY_STEPS: dict[str, list[tuple[str, dict[str, str]]]] = {
    "check-ins paused": [("/checkin pause", {"until": "4w"})],
    "buddy pairing snoozed": [
        ("/buddy join", {"circle": "Paused"}),
        ("/buddy snooze", {"until": "4w"}),
    ],
    "resting by /capacity": [("/capacity", {"state": "resting"})],
}


@pytest.mark.parametrize("away", sorted(AWAY_STEPS))
async def test_a_member_away_is_not_given_a_role(world: World, away: str) -> None:
    await circle_with_volunteers(world, "Paused", {"keeper": [world.sam, world.kai]})
    for command, options in AWAY_STEPS[away]:
        reply = await world.sam.run(command, channel=world.channel, **options)
        assert SORRY not in reply.text and "Try" not in reply.text, reply.describe()
    await start_rotation(world, "Paused")
    assert (await holders_now(world, "Paused"))["keeper"] == world.kai.id
    await world.advance(WEEK)  # Sam still away: Kai again rather than someone paused
    assert (await holders_now(world, "Paused"))["keeper"] == world.kai.id


async def test_swap_hands_the_role_to_the_next_in_line_and_keeps_your_place(
    world: World,
) -> None:
    everyone = [world.sam, world.kai, world.noor, world.facilitator]
    await circle_with_volunteers(world, "Swaps", {"keeper": everyone})
    await start_rotation(world, "Swaps")
    post = cycle_posts(world)[-1]

    refused = await world.kai.click("Swap keeper", message=post)  # not Kai's role
    assert refused.ephemeral and "isn't yours" in refused.text

    swapped = await world.sam.click("Swap keeper", message=post)
    assert swapped.ephemeral and f"<@{world.kai.id}> is Keeper this cycle" in swapped.text
    await run_due(world.bot)
    assert (await holders_now(world, "Swaps"))["keeper"] == world.kai.id
    note = f"<@{world.sam.id}> swapped **Keeper**: <@{world.kai.id}> holds it"
    assert note in world.channel.messages[-1].text
    assert any("You're **Keeper**" in m.content for m in world.kai.dms)

    # Kai skips from the DM: Noor, never Sam again this cycle.
    skipped = await world.kai.click("Skip", message=world.kai.dms[-1])
    assert f"<@{world.noor.id}> is Keeper" in skipped.text
    # A swap keeps your place: Sam holds it next cycle, before Ada who never held it.
    await world.advance(WEEK)
    assert (await holders_now(world, "Swaps"))["keeper"] == world.sam.id


async def test_skip_sends_you_to_the_back_of_the_line(world: World) -> None:
    await circle_with_volunteers(world, "Skips", {"keeper": [world.sam, world.kai, world.noor]})
    await start_rotation(world, "Skips")
    skipped = await world.sam.click("Skip keeper", message=cycle_posts(world)[-1])
    assert f"<@{world.kai.id}> is Keeper" in skipped.text
    await world.advance(WEEK)
    assert (await holders_now(world, "Skips"))["keeper"] == world.noor.id
    await world.advance(WEEK)
    assert (await holders_now(world, "Skips"))["keeper"] == world.sam.id


async def test_two_presses_at_once_hand_the_role_on_once(world: World) -> None:
    await circle_with_volunteers(world, "Twice", {"keeper": [world.sam, world.kai, world.noor]})
    await start_rotation(world, "Twice")
    post = cycle_posts(world)[-1]
    first, second = await together(
        world.sam.click("Swap keeper", message=post),
        world.sam.click("Skip keeper", message=post),
        seed=7,
    )
    texts = [first.text, second.text]
    assert sum("is Keeper this cycle" in t for t in texts) == 1, texts
    assert sum("isn't yours" in t for t in texts) == 1, texts
    await run_due(world.bot)
    notes = [m for m in world.channel.messages if "**Keeper**:" in m.text]
    assert len(notes) == 1


async def test_the_prompt_holder_sets_the_next_question_and_it_is_asked(world: World) -> None:
    await circle_with_volunteers(world, "Prompted", {"prompt": [world.noor]})
    await start_rotation(world, "Prompted")
    dm = next(m for m in world.noor.dms if "Set the next question" in m.buttons)
    form = await world.noor.click("Set the next question", message=dm)
    assert form.modal is not None and form.modal.title == "The next check-in question"
    suggested = dict(form.modal.fields)["Question"]["value"]
    assert suggested  # one from the bank is offered

    short = await world.noor.submit(form, {"Question": "Hi?"})
    assert "Nothing was saved" in short.text and SORRY not in short.text
    mention = await world.noor.submit(form, {"Question": "Ask @everyone how they are"})
    assert "mentions" in mention.text
    hard = await world.noor.submit(form, {"Question": "Who else wants to end my life story?"})
    assert "won't be posted to the circle" in hard.text and "/crisis" in hard.text
    saved = await world.noor.submit(form, {"Question": "What made you smile this week?"})
    assert "What made you smile this week?" in saved.text
    other = await world.sam.submit(form, {"Question": "What made you frown this week?"})
    assert "Only this cycle's prompt holder" in other.text

    opened = await world.facilitator.run(
        "/facilitate checkin now", circle="Prompted", channel=world.channel
    )
    assert "Opened a round" in opened.text, opened.describe()
    prompts = [
        m for m in world.channel.messages if m.embed and "Check-in" in m.embed.get("title", "")
    ]
    assert "What made you smile this week?" in prompts[-1].text


async def test_bad_roles_are_refused_with_an_example(world: World) -> None:
    await create_circle(world.facilitator, "Bad", world.channel)
    await join(world.sam, "Bad", world.channel)
    unknown = await world.sam.run(
        "/circle volunteer", role="captain", circle="Bad", channel=world.channel
    )
    assert unknown.ephemeral and "no role by that name" in unknown.text
    assert (
        "keeper, reminder, prompt" in unknown.text
        and "/circle volunteer role:keeper" in unknown.text
    )
    outsider = await world.kai.run(
        "/circle volunteer", role="keeper", circle="Bad", channel=world.channel
    )
    assert "Join “Bad” first" in outsider.text
    again = await world.sam.run(
        "/circle volunteer", role="KEEPER", circle="Bad", channel=world.channel
    )
    twice = await world.sam.run(
        "/circle volunteer", role="keeper", circle="Bad", channel=world.channel
    )
    assert "You're in the rotation for **Keeper**" in again.text
    assert "already in the rotation" in twice.text
    await join(world.kai, "Bad", world.channel)
    clicks = await together(
        *(
            world.kai.run("/circle volunteer", role="prompt", circle="Bad", channel=world.channel)
            for _ in "ab"
        ),
        seed=5,
    )
    texts = [c.text for c in clicks]
    assert sum("You're in the rotation" in t for t in texts) == 1, texts
    assert sum("already in the rotation" in t for t in texts) == 1, texts
    left = await world.sam.run(
        "/circle unvolunteer", role="keeper", circle="Bad", channel=world.channel
    )
    assert "out of the rotation" in left.text


async def test_a_cycle_runs_once_across_restarts_and_re_runs(world: World) -> None:
    await circle_with_volunteers(world, "Once", {"keeper": [world.sam, world.kai]})
    await start_rotation(world, "Once")
    circle = await circle_named(world.bot, world.guild.id, "Once")
    async with world.bot.resources.db.read() as tx:
        cycle = (await roles_repo.latest_cycles(tx, circle.id, 1))[0]
    # The timer's handler runs again for the same time (a crash before its row was moved on).
    await world.bot.resources.services.roles._on_cycle_job(
        StoredJob(
            f"roles-cycle:{circle.id}",
            "roles-cycle",
            from_db(cycle.cycle_key),
            {"circle_id": circle.id},
        )
    )
    await run_due(world.bot)
    assert len(cycle_posts(world)) == 1
    assert sum("You're **Keeper**" in m.content for m in world.sam.dms) == 1


async def test_a_cycle_due_while_the_bot_was_down_runs_once_when_it_is_back(
    tmp_path: Path, database_target: str | Path
) -> None:
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    db_url = database_target if isinstance(database_target, str) else None
    clock = FakeClock()
    db_path = tmp_path / "roles.db"
    try:
        async with strict_server() as server:
            guild = server.create_guild("Restarts")
            ada = guild.add_member("Ada", manage_guild=True)
            sam, kai = guild.add_member("Sam"), guild.add_member("Kai")
            channel = guild.create_text_channel("circle")
            async with running_bot(server, db_path, clock=clock, db_url=db_url) as bot:
                await server.wait_until_connected()
                await create_circle(ada, "Restarts", channel)
                for member in (sam, kai):
                    await join(member, "Restarts", channel)
                    await member.run("/circle volunteer", role="keeper", channel=channel)
                    clock.advance(timedelta(seconds=1))
                await ada.run(
                    "/facilitate circle roles", circle="Restarts", rotation=True, channel=channel
                )
                await run_due(bot)
            clock.advance(WEEK + timedelta(hours=1))  # the next cycle falls due while it is down
            async with running_bot(server, db_path, clock=clock, db_url=db_url) as bot:
                await server.wait_until_connected()
                await run_due(bot)
                await run_due(bot)  # a second look changes nothing
                posts = [
                    m
                    for m in channel.messages
                    if m.embed and "This cycle's roles" in m.embed["title"]
                ]
                assert len(posts) == 2
                assert f"<@{kai.id}>" in posts[-1].text  # Sam held it last time
                assert sum("You're **Keeper**" in m.content for m in kai.dms) == 1
            assert_spec_clean(server)
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


async def test_members_who_left_get_no_role_and_an_empty_rotation_posts_nothing(
    world: World,
) -> None:
    await circle_with_volunteers(world, "Leavers", {"keeper": [world.sam, world.kai]})
    left = await world.sam.run("/circle leave", circle="Leavers", channel=world.channel)
    assert "You left" in left.text
    await start_rotation(world, "Leavers")
    assert (await holders_now(world, "Leavers"))["keeper"] == world.kai.id

    await create_circle(world.facilitator, "Empty", world.channel)
    before = len(cycle_posts(world))
    await start_rotation(world, "Empty")
    await world.advance(WEEK)
    assert len(cycle_posts(world)) == before + 1  # Leavers' second cycle, nothing for Empty
