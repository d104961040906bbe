"""`/crisis` handling time beside a bare `/ping`, both through the local Discord server.

Run: .venv/bin/python benchmarks/bench_crisis.py [iterations]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import ack_ms, describe, local_bot, percentile


async def main(iterations: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with local_bot(Path(tmp) / "bench.db") as (server, _bot):
            guild = server.bench_guild  # type: ignore[attr-defined]
            member = guild.add_member("Sam")
            channel = guild.create_text_channel("general")
            for _ in range(20):  # warm up
                await member.run("/ping", channel=channel)
                await member.run("/crisis", channel=channel)
            results: dict[str, list[float]] = {
                "/ping": [],
                "/crisis": [],
                "/crisis region:UK": [],
                "/crisis (DM)": [],
            }
            for _ in range(iterations):
                results["/ping"].append(ack_ms(await member.run("/ping", channel=channel)))
                results["/crisis"].append(ack_ms(await member.run("/crisis", channel=channel)))
                results["/crisis region:UK"].append(
                    ack_ms(await member.run("/crisis", region="UK", channel=channel))
                )
                results["/crisis (DM)"].append(ack_ms(await member.run("/crisis", dm=True)))
    print(
        f"Interaction acknowledged (server-side, dispatch → first callback), {iterations} runs each:"
    )
    for name, samples in results.items():
        print("  " + describe(name, samples))
    floor = percentile(results["/ping"], 99)
    print(
        f"  /crisis p99 / /ping p99 = {percentile(results['/crisis'], 99) / floor:.2f}x (target ≤ 1.5x)"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300))
