"""Nothing the bot owes is lost in a crash (issue 8).

The real bot runs as its own process (`python -m bot run`, see `botprocess`). The local
server holds a post at the moment it matters, the test SIGKILLs the bot there, lets the
request go, and starts the bot again on the same database and key. A member must then see
each owed post exactly once (with its button where it has one), and the database must
agree with what Discord shows.

"before": the request reached Discord, which had not acted when the bot died (the held
request is dropped). "after": Discord stored the message, but the bot never heard back.

One server and one bot installation serve the module; each test has its own channel,
circle and members, and leaves the bot running for the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from bot.clock import SystemClock
from bot.domain.circles import Circle, Round
from bot.localdiscord import Channel, Guild, LocalDiscord, Member
from bot.localdiscord.faults import Stage, body_text
from bot.localdiscord.state import SEND_MESSAGES, Interaction, Message
from bot.services import checkins as checkins_service
from bot.storage.database import Database, Tx
from bot.storage.repositories import checkins as checkins_repo
from bot.storage.repositories import circles as circles_repo
from bot.storage.repositories import jobs as jobs_repo
from bot.storage.repositories import outbox as outbox_repo
from bot.storage.repositories.jobs import StoredJob
from tests.e2e.botprocess import BotProcess
from tests.e2e.checkin_helpers import check_in, create_circle, join
from tests.e2e.strict import assert_spec_clean, strict_server

POST = "POST /channels/{channel_id}/messages"
WAIT = 30.0  # generous: the machine is shared and the bot is a cold process
# What a reply may never say while the post it reports on is not there.
CLAIMS_A_POST = re.compile(r"Opened a round|it is now, in|summary is posted")


@dataclass
class Crash:
    server: LocalDiscord
    bot: BotProcess
    guild: Guild
    ada: Member  # facilitator (Manage Server)
    names: count[int]

    async def ready(self) -> None:
        """The bot is up (a previous test may have left it killed)."""
        if not self.bot.running:
            await self.bot.start()

    def member(self, name: str, *, facilitator: bool = False) -> Member:
        return self.guild.add_member(f"{name}{next(self.names)}", manage_guild=facilitator)

    async def circle(self, name: str, *members: Member) -> tuple[Channel, Circle]:
        """A new channel and circle created by Ada, with `members` joined."""
        await self.ready()
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower())
        channel = self.guild.create_text_channel(f"{slug}-{next(self.names)}")
        await self.server.flush()  # the bot hears of the channel before the command
        await create_circle(self.ada, name, channel)
        for member in members:
            await join(member, name, channel)
        async with self.stored() as tx:
            circle = await circles_repo.by_name(tx, self.guild.id, name)
        assert circle is not None
        return channel, circle

    @asynccontextmanager
    async def stored(self) -> AsyncIterator[Tx]:
        """Read (or, with the bot killed, write) the bot's database directly."""
        db = await Database.open(self.bot.db_path)
        try:
            async with db.transaction() as tx:
                yield tx
        finally:
            await db.close()

    async def rounds(self, circle: Circle) -> list[Round]:
        async with self.stored() as tx:
            rows = await tx.fetchall(
                "SELECT id FROM rounds WHERE circle_id = ? ORDER BY id", (circle.id,)
            )
            found = [await checkins_repo.get_round(tx, int(row["id"])) for row in rows]
        return [r for r in found if r is not None]

    async def delivered(self, dedupe_key: str) -> None:
        """Until the outbox marks this delivery done: nothing more of it will be sent."""

        async def done() -> bool:
            async with self.stored() as tx:
                delivery = await outbox_repo.by_key(tx, dedupe_key)
            return delivery is not None and delivery.delivered

        await poll(done, f"delivery {dedupe_key} done", self.bot)

    async def restart_until_delivered(self, circle: Circle, kind: str) -> Round:
        """Start the bot again; once the circle's one round's `kind` delivery is done, the
        round as stored."""
        await self.bot.start()
        (round_,) = await self.rounds(circle)
        await self.delivered(f"{kind}:{round_.id}")
        (round_,) = await self.rounds(circle)
        return round_

    async def make_due(self, job_id: str) -> None:
        """With the bot killed: its stored job falls due, so it fires when the bot starts."""
        assert not self.bot.running
        async with self.stored() as tx:
            job = await jobs_repo.get(tx, job_id)
            assert job is not None, f"no stored job {job_id}"
            due = SystemClock().now() - timedelta(seconds=1)
            await jobs_repo.upsert(tx, StoredJob(job.job_id, job.kind, due, job.payload))


async def poll(
    condition: Callable[[], Coroutine[Any, Any, bool]], what: str, bot: BotProcess
) -> None:
    """Check a database condition until it holds (the bot writes from another process)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not await condition():
        if loop.time() > deadline:
            raise TimeoutError(f"{what}: not within {WAIT}s\n{bot.tail()}")
        await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
async def crash(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Crash]:
    folder = tmp_path_factory.mktemp("crash")
    async with strict_server(reply_timeout=WAIT) as server:
        guild = server.create_guild("Crash Lab")
        ada = guild.add_member("Ada", manage_guild=True)
        bot = BotProcess(server, Path(folder) / "circlekeeper.db")
        try:
            yield Crash(server, bot, guild, ada, count(1))
        finally:
            server.faults.release_all()
            await bot.kill()
            print(f"the bot's log (last lines):\n{bot.tail(80)}")  # shown when a test fails
        assert_spec_clean(server)


def with_title(messages: list[Message], title: str) -> list[Message]:
    return [m for m in messages if any(e.get("title") == title for e in m.embeds)]


def posts(channel: Channel, title: str) -> list[Message]:
    return with_title(channel.messages, title)


def prompt_posted_once(channel: Channel, circle: Circle, round_: Round) -> Message:
    """One prompt, with its button, and the round knows its message."""
    prompts = posts(channel, prompt_title(circle))
    assert len(prompts) == 1, [m.text for m in prompts]
    assert round_.is_open and round_.message_id == prompts[0].id
    assert prompts[0].buttons == ["Check in"]
    return prompts[0]


def prompt_title(circle: Circle) -> str:
    return f"Check-in — {circle.name}"


def summary_title(circle: Circle) -> str:
    return f"Check-in closed — {circle.name}"


def titled(title: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: any(e.get("title") == title for e in body.get("embeds") or [])


def last_interaction(server: LocalDiscord, member: Member) -> Interaction:
    mine = [i for i in server.state.interactions.values() if i.user.id == member.id]
    return max(mine, key=lambda i: i.created)


@asynccontextmanager
async def in_flight(
    command: Coroutine[Any, Any, Any],
) -> AsyncIterator[asyncio.Task[Any]]:
    """A member's command whose answer the test does not wait for (the bot dies first)."""
    task = asyncio.create_task(command)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def kill_while_held(
    crash: Crash,
    stage: Stage,
    match: Callable[[dict[str, Any]], bool] | str,
    act: Coroutine[Any, Any, Any] | None = None,
) -> None:
    """Hold the matching post; once the bot is stuck on it (through `act`, or through what
    it does at start), SIGKILL the bot and let the request go."""
    hold = crash.server.hold(POST, stage=stage, match=match)
    try:
        if act is None:
            await crash.bot.start()
            await hold.wait_caught(WAIT)
        else:
            async with in_flight(act):
                await hold.wait_caught(WAIT)
                await crash.bot.kill()
        await crash.bot.kill()
    finally:
        hold.release()


def no_false_claim(server: LocalDiscord, facilitator: Member) -> None:
    """The facilitator was told nothing, or only what is true."""
    interaction = last_interaction(server, facilitator)
    said = [m.text for m in interaction.followups]
    if interaction.original is not None:
        said.append(interaction.original.text)
    assert not any(CLAIMS_A_POST.search(text) for text in said), said


# -- a. and b.: the prompt of `/facilitate checkin now`


@pytest.mark.parametrize("stage", ["before", "after"])
async def test_a_prompt_interrupted_by_a_crash_is_posted_once_after_restart(
    crash: Crash, stage: Stage
) -> None:
    sam = crash.member("Sam")
    name = f"Now {stage}"
    channel, circle = await crash.circle(name, sam)

    await kill_while_held(
        crash,
        stage,
        titled(prompt_title(circle)),
        crash.ada.run("/facilitate checkin now", circle=name, channel=channel),
    )
    assert len(posts(channel, prompt_title(circle))) == (1 if stage == "after" else 0)
    no_false_claim(crash.server, crash.ada)

    round_ = await crash.restart_until_delivered(circle, checkins_service.PROMPT)
    prompt = prompt_posted_once(channel, circle, round_)

    thanks = await check_in(sam, prompt, mood="4", who_sees_this="the circle")
    assert thanks.startswith("Thank you. Your check-in is saved"), thanks
    async with crash.stored() as tx:
        assert await checkins_repo.answered_ids(tx, round_.id) == {sam.id}


# -- c. the summary


@pytest.mark.parametrize("stage", ["before", "after"])
async def test_a_summary_interrupted_by_a_crash_is_posted_once_after_restart(
    crash: Crash, stage: Stage
) -> None:
    sam = crash.member("Sam")
    name = f"Close {stage}"
    channel, circle = await crash.circle(name, sam)
    opened = await crash.ada.run("/facilitate checkin now", circle=name, channel=channel)
    assert "Opened a round" in opened.content, opened.describe()
    (prompt,) = posts(channel, prompt_title(circle))
    await check_in(sam, prompt, mood="3", who_sees_this="the circle")

    await kill_while_held(
        crash,
        stage,
        titled(summary_title(circle)),
        crash.ada.run("/facilitate checkin close", circle=name, channel=channel),
    )
    no_false_claim(crash.server, crash.ada)

    round_ = await crash.restart_until_delivered(circle, checkins_service.SUMMARY)
    summaries = posts(channel, summary_title(circle))
    assert len(summaries) == 1, [m.text for m in summaries]
    assert "**1** checked in" in summaries[0].text
    assert round_.closed_at is not None  # closed once: still one round, and closed
    assert len(posts(channel, prompt_title(circle))) == 1


# -- d. a scheduled round's prompt


async def test_a_scheduled_prompt_interrupted_by_a_crash_is_posted_once_after_restart(
    crash: Crash,
) -> None:
    name = "Scheduled"
    channel, circle = await crash.circle(name)
    scheduled = await crash.ada.run(
        "/facilitate checkin schedule", circle=name, days="mon,thu", time="19:00", channel=channel
    )
    assert "Next round" in scheduled.content, scheduled.describe()
    await crash.bot.kill()
    await crash.make_due(f"{checkins_service.OPEN}:{circle.id}")  # the slot came while it was down

    # The open job fires at start; the outbox posts the prompt.
    await kill_while_held(crash, "before", titled(prompt_title(circle)))
    assert posts(channel, prompt_title(circle)) == []

    round_ = await crash.restart_until_delivered(circle, checkins_service.PROMPT)
    prompt_posted_once(channel, circle, round_)


# -- e. reminder DMs


def reminders(member: Member) -> list[Message]:
    return [m for m in member.dms if "gentle reminder" in m.text]


@pytest.mark.parametrize("stage", ["before", "after"])
async def test_reminders_interrupted_by_a_crash_reach_each_member_once(
    crash: Crash, stage: Stage
) -> None:
    members = [crash.member(name) for name in ("Kai", "Noor", "Lee")]
    name = f"Remind {stage}"
    channel, circle = await crash.circle(name, *members)
    for member in members:
        on = await member.run("/checkin reminders", setting="on", channel=channel)
        assert on.ephemeral, on.describe()
    opened = await crash.ada.run("/facilitate checkin now", circle=name, channel=channel)
    assert "Opened a round" in opened.content, opened.describe()
    (round_,) = await crash.rounds(circle)
    await crash.bot.kill()
    await crash.make_due(f"{checkins_service.REMIND}:{round_.id}")

    # The reminder job fires at start; the first reminder DM is held.
    await kill_while_held(crash, stage, "gentle reminder")

    await crash.bot.start()
    for member in members:
        await crash.delivered(f"{checkins_service.REMINDER}:{round_.id}:{member.id}")
    assert [len(reminders(m)) for m in members] == [1, 1, 1]


# -- f. facilitators-only answers by DM


async def test_facilitators_only_answers_reach_each_facilitator_once_across_a_crash(
    crash: Crash,
) -> None:
    bea = crash.member("Bea", facilitator=True)
    sam = crash.member("Sam")
    name = "Private"
    channel, circle = await crash.circle(name, sam)
    opened = await bea.run("/facilitate checkin now", circle=name, channel=channel)
    assert "Opened a round" in opened.content, opened.describe()  # Bea is noted as one
    (prompt,) = posts(channel, prompt_title(circle))
    await check_in(sam, prompt, mood="2", note="Hard week", who_sees_this="facilitators only")
    facilitators = sorted([crash.ada, bea], key=lambda m: m.id)  # the order they are sent

    title = f"For facilitators — {circle.name}"
    seen: list[int] = []

    def second_facilitators_dm(body: dict[str, Any]) -> bool:
        if title not in body_text(body):
            return False
        seen.append(1)
        return len(seen) == 2  # the first facilitator has theirs; the second's is stored

    await kill_while_held(
        crash,
        "after",
        second_facilitators_dm,
        crash.ada.run("/facilitate checkin close", circle=name, channel=channel),
    )
    await crash.restart_until_delivered(circle, checkins_service.FACILITATORS)
    got = [with_title(f.dms, title) for f in facilitators]
    assert [len(messages) for messages in got] == [1, 1]
    assert all("Hard week" in messages[0].text for messages in got)
    assert len(posts(channel, summary_title(circle))) == 1


# -- g. a prompt that could not be posted


async def test_a_prompt_without_permission_is_reported_honestly_and_repaired_by_running_again(
    crash: Crash,
) -> None:
    name = "Muted"
    channel, circle = await crash.circle(name)
    channel.deny_bot(SEND_MESSAGES)

    refused = await crash.ada.run("/facilitate checkin now", circle=name, channel=channel)
    assert "couldn't post its prompt" in refused.content, refused.describe()
    assert not CLAIMS_A_POST.search(refused.content)
    assert posts(channel, prompt_title(circle)) == []
    (round_,) = await crash.rounds(circle)
    assert round_.is_open and round_.message_id is None

    channel.allow_bot(SEND_MESSAGES)
    repaired = await crash.ada.run("/facilitate checkin now", circle=name, channel=channel)
    assert "it is now, in" in repaired.content, repaired.describe()
    prompts = posts(channel, prompt_title(circle))
    assert len(prompts) == 1 and prompts[0].buttons == ["Check in"]
    (round_,) = await crash.rounds(circle)  # the same round, not a second one
    assert round_.message_id == prompts[0].id
