"""The talking piece end to end: the real bot, the local Discord server, both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.talking_piece import Phase, TurnEnd
from bot.localdiscord import Member, together
from tests.e2e.conftest import World
from tests.e2e.talk_helpers import (
    board_of,
    board_settled,
    circle_with,
    live_id,
    refusal,
    start,
    state,
    until,
)


async def test_a_round_with_pass_done_a_refusal_and_the_last_call(world: World) -> None:
    sam, kai, noor = world.sam, world.kai, world.noor
    await circle_with(
        world.bot, world.guild.id, world.channel, "Round", [sam, kai, noor], world.facilitator
    )
    board = await start(world.facilitator, world.channel)
    gid = await live_id(world.bot, world.channel)
    assert board.buttons == ["Raise hand", "Lower hand", "Join", "Leave", "Begin", "Facilitator"]
    stranger = world.guild.add_member("Stranger")
    refused = await refusal(await stranger.click("Join", message=board))
    assert "Join the circle first" in refused and "/circle join circle:Round" in refused
    for member in (sam, kai, noor):
        await member.click("Join", message=board)
    await until(world.bot, gid, lambda g: len(g.seats) == 3)
    assert (
        "only this gathering's facilitator"
        in (await refusal(await sam.click("Begin", message=board))).lower()
    )
    await world.facilitator.click("Begin", message=board)
    g = await until(world.bot, gid, lambda g: g.holder == sam.id)
    await board_settled(world.bot, gid)
    assert f"Holding the piece:** {sam.mention}" in board.text
    assert board.content == f"{kai.mention}, you're next."
    assert [u.id for u in board.mentions] == [kai.id]  # a ping to the next member alone
    # Kai presses Done while Sam holds the piece: refused privately, nothing moves
    said = await refusal(await kai.click("Done", message=board))
    assert "Only the member holding the piece" in said
    await sam.click("Pass", message=board)
    await until(world.bot, gid, lambda g: g.holder == kai.id)
    await board_settled(world.bot, gid)
    # a double click of Done moves the piece once
    await together(*(kai.click("Done", message=board) for _ in range(2)), seed=5)
    g = await until(world.bot, gid, lambda g: g.holder == noor.id)
    await board_settled(world.bot, gid)
    assert [t.end for t in g.turns] == [TurnEnd.PASSED, TurnEnd.DONE]
    await board_settled(world.bot, gid)
    await noor.click("Done", message=board)
    g = await until(world.bot, gid, lambda g: g.phase is Phase.LAST_CALL)
    assert g.holder == sam.id
    await board_settled(world.bot, gid)
    assert "Last call" in board.text
    await board_settled(world.bot, gid)
    await sam.click("Done", message=board)
    await until(world.bot, gid, lambda g: not g.live)
    await board_settled(world.bot, gid)
    assert "The gathering has ended.** 3 spoke, 0 passed" in board.text
    assert board.buttons == ["Airtime (facilitator)"]
    airtime = await world.facilitator.click("Airtime (facilitator)", message=board)
    assert airtime.ephemeral and "Airtime" in airtime.text and sam.mention in airtime.text


async def test_a_progressive_stack_and_a_second_start_refused(world: World) -> None:
    sam, kai, noor = world.sam, world.kai, world.noor
    await circle_with(
        world.bot, world.guild.id, world.channel, "Stack", [sam, kai, noor], world.facilitator
    )
    board = await start(
        world.facilitator, world.channel, mode="stack", progressive=True, order="members"
    )
    gid = await live_id(world.bot, world.channel)
    again = await world.facilitator.run("/facilitate talk start", channel=world.channel)
    assert again.ephemeral and "already running in this channel" in again.content
    assert f"/{board.id}" in again.content  # a pointer to the running board
    await world.facilitator.click("Begin", message=board)
    await until(world.bot, gid, lambda g: g.phase is Phase.FLOOR)
    await sam.click("Raise hand", message=board)
    await until(world.bot, gid, lambda g: g.holder == sam.id)
    await kai.click("Raise hand", message=board)
    await until(world.bot, gid, lambda g: g.hand_of(kai.id) is not None)
    await board_settled(world.bot, gid)
    await sam.click("Done", message=board)
    await until(world.bot, gid, lambda g: g.holder == kai.id)
    await sam.click("Raise hand", message=board)  # heard already
    await until(world.bot, gid, lambda g: g.hand_of(sam.id) is not None)
    await noor.click("Raise hand", message=board)  # not heard yet: goes first
    g = await until(world.bot, gid, lambda g: g.hand_of(noor.id) is not None)
    assert g.upcoming() == [noor.id, sam.id]
    await board_settled(world.bot, gid)
    assert board.text.index(noor.mention) < board.text.rindex(sam.mention)
    await board_settled(world.bot, gid)
    await kai.click("Done", message=board)
    await until(world.bot, gid, lambda g: g.holder == noor.id)


async def test_time_running_out_and_every_facilitator_control(world: World) -> None:
    sam, kai, noor = world.sam, world.kai, world.noor
    await circle_with(
        world.bot, world.guild.id, world.channel, "Timed", [sam, kai, noor], world.facilitator
    )
    board = await start(world.facilitator, world.channel, minutes="2", order="members")
    gid = await live_id(world.bot, world.channel)
    await world.facilitator.click("Begin", message=board)
    g = await until(world.bot, gid, lambda g: g.holder == sam.id)
    assert g.deadline == g.turn_started_at + timedelta(minutes=2)  # type: ignore[operator]
    await world.advance(timedelta(seconds=100))  # 80%: the gentle line
    await board_settled(world.bot, gid)
    assert "A gentle note" in board.text
    await world.advance(timedelta(seconds=20))  # time is up: the piece moves on
    g = await until(world.bot, gid, lambda g: g.holder == kai.id)
    assert g.turns[-1].end is TurnEnd.TIMED_OUT
    # a member can't open the panel
    assert "facilitator panel is for" in await refusal(
        await sam.click("Facilitator", message=board)
    )
    panel = await world.facilitator.click("Facilitator", message=board)
    assert panel.ephemeral and "Skip" in panel.buttons
    before = g.deadline
    await world.facilitator.click("+1 minute", message=panel)
    g = await until(world.bot, gid, lambda g: g.deadline != before)
    assert g.deadline == before + timedelta(minutes=1)  # type: ignore[operator]
    await world.facilitator.click("Pause", message=panel)
    await until(world.bot, gid, lambda g: g.paused)
    await world.advance(timedelta(minutes=10))  # paused: time does not run out
    assert (await state(world.bot, gid)).holder == kai.id
    await sam.click("Raise hand", message=board)
    await until(world.bot, gid, lambda g: len(g.hands) == 1)
    await world.facilitator.click("Lower all hands", message=panel)
    await until(world.bot, gid, lambda g: not g.hands)
    await world.facilitator.click("Resume", message=panel)
    await until(world.bot, gid, lambda g: not g.paused and g.deadline is not None)
    await world.facilitator.click("Skip", message=panel)
    g = await until(world.bot, gid, lambda g: g.holder == noor.id)
    assert g.turns[-1].end is TurnEnd.SKIPPED
    # a latecomer joins; the facilitator moves them... Sam is waiting in the last call? No:
    # nobody passed, so the queue is empty: add Bea and move her next.
    bea = world.guild.add_member("Bea")
    await world.bot.resources.services.circles.join(
        (await world.bot.resources.services.talk.get(gid)).circle_id,
        bea.id,  # type: ignore[union-attr]
    )
    await bea.click("Join", message=board)
    await until(world.bot, gid, lambda g: g.queue == (bea.id,))
    panel = await world.facilitator.click("Facilitator", message=board)
    await world.facilitator.select("Move to next…", "Bea", message=panel)
    await world.facilitator.select("Hand over to…", kai, message=panel)
    g = await until(world.bot, gid, lambda g: g.facilitator_id == kai.id)
    # Kai (no Manage Server) now facilitates: the panel opens for them and End works
    panel = await kai.click("Facilitator", message=board)
    assert panel.ephemeral and "End" in panel.buttons
    ended = await kai.click("End", message=panel)
    summary = ended.followups[-1] if ended.followups else await ended.next_followup()
    assert (
        summary.ephemeral and "Airtime" in summary.text and "no public leaderboard" in summary.text
    )
    await until(world.bot, gid, lambda g: not g.live)


async def test_the_gathering_time_begins_the_round_by_itself(world: World) -> None:
    sam = world.sam
    await circle_with(world.bot, world.guild.id, world.channel, "Timer", [sam], world.facilitator)
    board = await start(world.facilitator, world.channel, gather_minutes="5")
    gid = await live_id(world.bot, world.channel)
    await sam.click("Join", message=board)
    await until(world.bot, gid, lambda g: len(g.seats) == 1)
    await world.advance(timedelta(minutes=4))
    assert (await state(world.bot, gid)).phase is Phase.GATHERING
    await world.advance(timedelta(minutes=1))
    await until(world.bot, gid, lambda g: g.holder == sam.id)


async def test_a_member_who_left_the_server_is_passed_over(world: World) -> None:
    sam, kai, noor = world.sam, world.kai, world.noor
    await circle_with(
        world.bot, world.guild.id, world.channel, "Leaving", [sam, kai, noor], world.facilitator
    )
    board = await start(world.facilitator, world.channel, order="members")
    gid = await live_id(world.bot, world.channel)
    await world.facilitator.click("Begin", message=board)
    await until(world.bot, gid, lambda g: g.holder == sam.id)
    world.guild.remove_member(kai)  # no event reaches the bot (no members intent)
    await board_settled(world.bot, gid)
    await sam.click("Done", message=board)
    g = await until(world.bot, gid, lambda g: g.holder == noor.id)
    assert not g.seated(kai.id)
    # dropped when they came near the front (next in line, or holding): never a spoken turn
    assert [(t.member_id, t.end) for t in g.turns if t.member_id == kai.id] in (
        [],
        [(kai.id, TurnEnd.LEFT)],
    )


@pytest.mark.parametrize("seed", [1, 2])
async def test_a_crowd_pressing_at_once(world: World, seed: int) -> None:
    crowd = [world.guild.add_member(f"Member {n}") for n in range(20)]
    await circle_with(
        world.bot, world.guild.id, world.channel, f"Crowd {seed}", crowd, world.facilitator
    )
    board = await start(world.facilitator, world.channel, mode="stack")
    gid = await live_id(world.bot, world.channel)
    await together(*(m.click("Join", message=board) for m in crowd), seed=seed)
    await world.facilitator.click("Begin", message=board)
    await until(world.bot, gid, lambda g: g.phase is Phase.FLOOR and len(g.seats) == 20)
    await together(*(m.click("Raise hand", message=board) for m in crowd), seed=seed)
    g = await until(world.bot, gid, lambda g: g.holder is not None and len(g.hands) == 19)
    holder: Member = next(m for m in crowd if m.id == g.holder)
    # the holder double-clicks Done while five others lower their hands
    others = [m for m in crowd if m.id != holder.id][:5]
    queue = [h.member_id for h in g.hands]  # the open floor's order before the burst
    await board_settled(world.bot, gid)
    await together(
        holder.click("Done", message=board),
        holder.click("Done", message=board),
        *(m.click("Lower hand", message=board) for m in others),
        seed=seed,
    )
    g = await until(world.bot, gid, lambda g: len(g.turns) == 1 and len(g.hands) <= 14)
    assert g.holder is not None and g.holder != holder.id
    lowered = {m.id for m in others}
    assert not lowered & {h.member_id for h in g.hands}
    # The piece went to the first hand still up when Done landed: one of those lowering may
    # have been first in line and taken it before their own Lower (which is then refused).
    first_kept = next(i for i, member in enumerate(queue) if member not in lowered)
    assert g.holder in queue[: first_kept + 1]
    await board_settled(world.bot, gid)
    assert world.server.ratelimiter.limited_count == 0


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"mode": "circle"}, "mode is round or stack"),
        ({"minutes": "forever"}, "minutes is each share"),
        ({"order": "height"}, "order is join, shuffled"),
        ({"when_time_is_up": "later"}, "when_time_is_up is next"),
        ({"then": "party"}, "then is end or floor"),
        ({"gather_minutes": "500"}, "gather_minutes"),
        ({"circle": "Nowhere"}, "There is no circle called"),
    ],
)
async def test_bad_input_is_refused_with_an_example(
    world: World, options: dict[str, object], expected: str
) -> None:
    await circle_with(world.bot, world.guild.id, world.channel, "Options", [], world.facilitator)
    reply = await world.facilitator.run("/facilitate talk start", channel=world.channel, **options)
    assert reply.ephemeral and expected in reply.content and "For example:" in reply.content, (
        reply.describe()
    )
    assert not [
        m for m in world.channel.messages if m.embed and "Talking piece" in m.embed.get("title", "")
    ]


async def test_only_in_the_circles_channel(world: World) -> None:
    await circle_with(world.bot, world.guild.id, world.channel, "Here", [], world.facilitator)
    elsewhere = world.guild.create_text_channel("elsewhere")
    await world.server.wait_for(lambda: world.bot.get_channel(elsewhere.id) is not None)
    reply = await world.facilitator.run("/facilitate talk start", circle="Here", channel=elsewhere)
    assert "in its channel" in reply.content and "For example:" in reply.content
    member = await world.sam.run("/facilitate talk start", channel=world.channel, force=True)
    assert "Only facilitators" in member.content
    assert board_of  # (imported for other tests)
