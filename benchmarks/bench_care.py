"""Circle care beside a bare `/ping`, through the local Discord server: `/crisis` for a
member with a crisis plan (the card checks for the plan), `/crisisplan view`, and
`/resources search` over a server list of 300 entries (decrypted and searched per call).

Run: .venv/bin/python benchmarks/bench_care.py [iterations]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import ack_ms, describe, local_bot, percentile
from bot.domain.resources import Draft
from bot.storage.repositories import resources as resources_repo

ENTRIES = 300


async def main(iterations: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with local_bot(Path(tmp) / "bench.db") as (server, bot):
            guild = server.bench_guild  # type: ignore[attr-defined]
            member = guild.add_member("Sam")
            channel = guild.create_text_channel("general")
            form = await member.run("/crisisplan edit", channel=channel)
            await member.submit(
                form, {"Warning signs": "x" * 900, "People I can ask for help": "y" * 900}
            )
            resources = bot.resources
            async with resources.db.transaction() as tx:
                for n in range(ENTRIES):
                    draft = Draft(
                        "peer-group", f"Group {n}", f"Meets weekly, number {n}", None, "ANY", None
                    )
                    await resources_repo.add(
                        tx,
                        resources.cipher,
                        guild.id,
                        draft,
                        member.id,
                        False,
                        True,
                        resources.clock.now(),
                    )
            for _ in range(20):  # warm up
                await member.run("/ping", channel=channel)
                await member.run("/crisis", channel=channel)
            results: dict[str, list[float]] = {
                "/ping": [],
                "/crisis (with a plan)": [],
                "/crisisplan view": [],
                f"/resources search ({ENTRIES})": [],
            }
            for _ in range(iterations):
                results["/ping"].append(ack_ms(await member.run("/ping", channel=channel)))
                results["/crisis (with a plan)"].append(
                    ack_ms(await member.run("/crisis", channel=channel))
                )
                results["/crisisplan view"].append(
                    ack_ms(await member.run("/crisisplan view", channel=channel))
                )
                results[f"/resources search ({ENTRIES})"].append(
                    ack_ms(
                        await member.run("/resources search", words="weekly 150", channel=channel)
                    )
                )
    print(
        f"Interaction acknowledged (server-side, dispatch → first callback), {iterations} runs each:"
    )
    for name, samples in results.items():
        print("  " + describe(name, samples))
    floor = percentile(results["/ping"], 99)
    for name in list(results)[1:]:
        print(
            f"  {name} p99 / /ping p99 = {percentile(results[name], 99) / floor:.2f}x (target ≤ 1.5x)"
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300))
