"""Check-ins at scale, through the local Discord server with the real bot.

A server with 500 circles and 20,000 memberships; one circle of 1,000 members opens a
round, all 1,000 check in through the button and the modal, and the round closes.
Prints the bot's acknowledgement times beside a bare /ping on the same setup, and the
p99 time to build and render `/checkin history` for a member with 1,000 answers.

Run: .venv/bin/python benchmarks/bench_checkins.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import ack_ms, describe, local_bot, percentile
from bot.domain.checkins import Visibility
from bot.storage.repositories import checkins as checkins_repo
from bot.storage.repositories import circles as circles_repo
from bot.ui.mood_chart import render_mood_chart

CIRCLES, MEMBERSHIPS, BIG = 500, 20_000, 1_000
VISIBILITIES = ("the circle", "facilitators only", "just me")


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with local_bot(Path(tmp) / "bench.db") as (server, bot):
            guild = server.bench_guild  # type: ignore[attr-defined]
            ada = guild.add_member("Ada", manage_guild=True)
            channel = guild.create_text_channel("big-circle")
            people = [guild.add_member(f"Member {i}") for i in range(BIG)]
            db, now = bot.resources.db, bot.resources.clock.now()

            started = time.perf_counter()
            async with db.transaction() as tx:
                big = await circles_repo.create(tx, guild.id, "Big", channel.id, "UTC", now)
                for member in people:
                    await circles_repo.add_member(tx, big, member.id, now)
                others = [
                    await circles_repo.create(tx, guild.id, f"Circle {i}", channel.id, "UTC", now)
                    for i in range(CIRCLES - 1)
                ]
                for n in range(MEMBERSHIPS - BIG):
                    await circles_repo.add_member(tx, others[n % len(others)], 10_000_000 + n, now)
            print(
                f"Seeded {CIRCLES} circles, {MEMBERSHIPS:,} memberships in {time.perf_counter() - started:.1f} s"
            )

            floor = [ack_ms(await ada.run("/ping", channel=channel)) for _ in range(300)]

            started = time.perf_counter()
            opened = await ada.run("/facilitate checkin now", circle="Big", channel=channel)
            await server.wait_for(lambda: any(m.components for m in channel.messages), timeout=30)
            open_ms = (time.perf_counter() - started) * 1000
            prompt = next(m for m in channel.messages if m.components)

            button, submit = [], []
            started = time.perf_counter()
            for i, member in enumerate(people):
                modal = await member.click("Check in", message=prompt)
                button.append(ack_ms(modal))
                reply = await member.submit(
                    modal, mood=str(i % 5 + 1), note=f"note {i}", who_sees_this=VISIBILITIES[i % 3]
                )
                submit.append(ack_ms(reply))
            total_s = time.perf_counter() - started

            before = len(channel.messages)
            started = time.perf_counter()
            await ada.run("/facilitate checkin close", circle="Big", channel=channel)
            await server.wait_for(lambda: len(channel.messages) > before, timeout=60)
            close_ms = (time.perf_counter() - started) * 1000
            summary_messages = len(channel.messages) - before

            # A member with 1,000 stored answers, for /checkin history.
            heavy = 42
            start = datetime.now(UTC) - timedelta(days=365)
            async with db.transaction() as tx:
                circle = others[0]
                for n in range(1000):
                    at = start + timedelta(hours=8 * n)
                    round_ = await checkins_repo.open_round(
                        tx, circle, f"h{n}", "?", at, at + timedelta(hours=1)
                    )
                    assert round_ is not None
                    await checkins_repo.upsert_answer(
                        tx,
                        bot.resources.cipher,
                        checkins_repo.AnswerWrite(
                            round_.id, heavy, guild.id, n % 5 + 1, None, Visibility.SELF, at
                        ),
                    )
                    # one open round per circle: each past round is closed
                    await checkins_repo.mark_closed(tx, round_.id, at + timedelta(hours=1))
            renders = []
            for _ in range(30):
                t0 = time.perf_counter()
                history = await bot.resources.services.checkins.history(heavy, 366)
                await asyncio.to_thread(render_mood_chart, history.points, history.stats, days=366)
                renders.append((time.perf_counter() - t0) * 1000)

    print(
        f"\nOpen a round in a {BIG:,}-member circle: /facilitate checkin now → prompt posted in {open_ms:.0f} ms "
        f"(ack {ack_ms(opened):.2f} ms)"
    )
    print(
        f"{BIG:,} check-ins (button → modal → submit) in {total_s:.1f} s through the local server"
    )
    print("  " + describe("bare /ping", floor))
    print("  " + describe("Check in button → modal", button))
    print("  " + describe("check-in submission", submit))
    print(
        f"  submission p99 / /ping p99 = {percentile(submit, 99) / percentile(floor, 99):.2f}x (target ≤ 1.5x)"
    )
    print(
        f"Close with {BIG:,} answers: /facilitate checkin close → summary posted ({summary_messages} message(s)) in {close_ms:.0f} ms"
    )
    print("  " + describe("/checkin history, 1,000 answers (query + chart)", renders))


if __name__ == "__main__":
    asyncio.run(main())
