"""The talking piece under a burst, through the local Discord server with the real bot.

A 40-member round: 300 state changes in a burst (every member raising and lowering a hand,
all at once), then the piece walked around the whole round press by press. Rate limits are
ON (Discord's 5 edits per 5 s per channel), so the figures show what the coalescing board
costs: board edits sent, 429s received, the delay from a press to the board showing it
(p50/p99), and the button acknowledgement p99 beside a bare /ping p99 in the same run.

Run: .venv/bin/python benchmarks/bench_talking_piece.py   (BENCH_POSTGRES=1 for PostgreSQL)
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import ack_ms, bench_database, describe, percentile
from bot.app import CircleBot
from bot.localdiscord import LocalDiscord, Member
from bot.sandbox.harness import running_bot
from bot.services.talking_piece import TalkService
from bot.ui import talking_piece as ui
from cogs.talking_piece._board import DiscordTalkBoard

MEMBERS, BURST = 40, 300
EDIT_ROUTE = "PATCH /channels/{channel_id}/messages/{message_id}"

press: contextvars.ContextVar[int | None] = contextvars.ContextVar("press", default=None)
version_of_press: dict[int, int] = {}  # interaction id → the version its change made
edits: list[tuple[int, float]] = []  # (version shown, monotonic time the edit returned)


def instrument() -> None:
    """Tie each press to the version it produced, and each board edit to what it showed."""
    callback = ui.TalkButton.callback

    async def traced_callback(self: ui.TalkButton, interaction: Any) -> None:
        press.set(interaction.id)
        await callback(self, interaction)

    change_once = TalkService._change_once

    async def traced_change(self: TalkService, *args: Any) -> Any:
        stored = await change_once(self, *args)
        pressed = press.get()
        if pressed is not None:
            version_of_press[pressed] = stored.version
        return stored

    edit = DiscordTalkBoard._edit

    async def traced_edit(self: DiscordTalkBoard, gathering_id: int) -> None:
        await edit(self, gathering_id)
        edits.append((self.shown[gathering_id], time.monotonic()))

    ui.TalkButton.callback = traced_callback  # type: ignore[method-assign]
    TalkService._change_once = traced_change  # type: ignore[method-assign]
    DiscordTalkBoard._edit = traced_edit  # type: ignore[method-assign]


def board_delays(server: LocalDiscord, interactions: list[Any]) -> list[float]:
    delays = []
    for inter in interactions:
        version = version_of_press.get(inter.id)
        if version is None:
            continue  # a press that changed nothing (a stale or refused one)
        shown = [t for v, t in edits if v >= version]
        if shown:
            delays.append((min(shown) - inter.created) * 1000)
    return delays


@asynccontextmanager
async def rate_limited_bot(db_path: Path) -> AsyncIterator[tuple[LocalDiscord, CircleBot]]:
    # Discord's limits on (unlike the other benchmarks): 429s are what this one counts.
    async with bench_database() as db_url, LocalDiscord(settle=0.0, reply_timeout=30.0) as server:
        server.bench_guild = server.create_guild("Bench")  # type: ignore[attr-defined]
        async with running_bot(server, db_path, db_url=db_url) as bot:
            await server.wait_until_connected()
            yield server, bot


async def main() -> None:
    instrument()
    with tempfile.TemporaryDirectory() as tmp:
        async with rate_limited_bot(Path(tmp) / "bench.db") as (server, bot):
            guild = server.bench_guild  # type: ignore[attr-defined]
            ada = guild.add_member("Ada", manage_guild=True)
            channel = guild.create_text_channel("circle")
            await server.wait_for(lambda: bot.get_channel(channel.id) is not None)
            people = [guild.add_member(f"Member {i:02d}") for i in range(MEMBERS)]
            services = bot.resources.services
            circle = await services.circles.create(guild.id, "Bench", channel.id, None, ada.id)
            for member in people:
                await services.circles.join(circle.id, member.id)

            floor = [ack_ms(await ada.run("/ping", channel=channel)) for _ in range(200)]

            reply = await ada.run("/facilitate talk start", channel=channel, order="members")
            assert "The board is up" in reply.content, reply.describe()
            board = next(m for m in channel.messages if m.embed)
            await ada.click("Begin", message=board)
            talk = services.talk
            (gid,) = await talk.live_ids()
            await server.wait_for(lambda: "Holding the piece" in board.text, timeout=10)

            edits_before = server.requests.count(EDIT_ROUTE)
            limited_before = server.ratelimiter.limited_count
            rounds = BURST // MEMBERS + 1

            async def toggler(member: Member, count: int) -> list[Any]:
                replies = []
                for n in range(count):
                    label = "Raise hand" if n % 2 == 0 else "Lower hand"
                    replies.append(await member.click(label, message=board))
                return replies

            counts = [
                rounds if i < BURST - (rounds - 1) * MEMBERS else rounds - 1 for i in range(MEMBERS)
            ]
            busy_pings: list[float] = []

            async def pinger(done: asyncio.Event) -> None:
                while not done.is_set():
                    busy_pings.append(ack_ms(await ada.run("/ping", channel=channel)))

            burst_over = asyncio.Event()
            pinging = asyncio.create_task(pinger(burst_over))
            started = time.perf_counter()
            burst = [
                r
                for rs in await asyncio.gather(
                    *(toggler(m, c) for m, c in zip(people, counts, strict=True))
                )
                for r in rs
            ]
            burst_s = time.perf_counter() - started
            burst_over.set()
            await pinging
            await settle(bot, gid)
            burst_edits = server.requests.count(EDIT_ROUTE) - edits_before
            burst_acks = [ack_ms(r) for r in burst]
            burst_delays = board_delays(server, [r.interaction for r in burst])

            # The piece walked around the round: each holder presses Done once the board shows them.
            walk = []
            edits_before = server.requests.count(EDIT_ROUTE)
            started = time.perf_counter()
            for _ in range(MEMBERS):
                g = (await talk.get(gid)).gathering  # type: ignore[union-attr]
                if g.holder is None:
                    break
                holder = guild.member(g.holder)
                await server.wait_for(
                    lambda h=holder: f"Holding the piece:** {h.mention}" in board.text, timeout=10
                )
                walk.append(await holder.click("Done", message=board))
            walk_s = time.perf_counter() - started
            await settle(bot, gid)
            walk_edits = server.requests.count(EDIT_ROUTE) - edits_before
            walk_delays = board_delays(server, [r.interaction for r in walk])
            limited = server.ratelimiter.limited_count - limited_before
            changes = len([r for r in burst if r.interaction.id in version_of_press])
            conflicts = talk.conflicts
            refusals = Counter(f.text.split(".")[0] for r in burst for f in r.followups)

    print(
        f"\nA {MEMBERS}-member round; burst of {len(burst)} presses ({changes} state changes) in {burst_s:.1f} s"
    )
    for text, count in refusals.most_common():
        print(f"  refused privately ×{count}: {text}.")
    print(f"  board edits sent during the burst: {burst_edits} (one per coalesced batch)")
    print("  " + describe("press → board shows it", burst_delays))
    print("  " + describe("button acknowledgement", burst_acks))
    print("  " + describe("bare /ping, idle", floor))
    print("  " + describe("bare /ping, during the burst", busy_pings))
    print(
        "  button ack p99 / /ping p99 during the burst = "
        f"{percentile(burst_acks, 99) / percentile(busy_pings, 99):.2f}x "
        f"(against the idle /ping: {percentile(burst_acks, 99) / percentile(floor, 99):.1f}x)"
    )
    print(
        f"Walking the round: {len(walk)} Done presses in {walk_s:.1f} s, {walk_edits} board edits"
    )
    print("  " + describe("Done → board shows next", walk_delays))
    print(f"429s received by the bot in all: {limited}; compare-and-set retries: {conflicts}")


async def settle(bot: CircleBot, gid: int) -> None:
    board = bot.resources.services.talk.board
    assert isinstance(board, DiscordTalkBoard)
    for _ in range(1000):
        stored = await bot.resources.services.talk.get(gid)
        if stored is not None and board.shown.get(gid) == stored.version and not board.busy(gid):
            return
        await asyncio.sleep(0.02)


if __name__ == "__main__":
    asyncio.run(main())
