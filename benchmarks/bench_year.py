"""A simulated year: every feature together, on a fast clock, with the bot killed at random.

The real bot runs as its own OS process against the local Discord server (Discord's rate
limits on), on a clock this script moves: from one moment anything happens to the next,
waiting each time until the bot has done what fell due. The world is drawn from the seed
(10 servers, 100 circles in 10 time zones of both hemispheres, 2,000 members), and so is
everything that happens in it; faults are part of the history (SIGKILLs at busy moments,
the database's write lock held for seconds, DMs closed and opened). Invariants are checked
every simulated day and at the end; a broken one prints its seed and the shortest history
that shows it, and the script exits 1.

Run: .venv/bin/python benchmarks/bench_year.py [--days 365] [--seed 1] [--backends sqlite,pg]
         [--servers 10 --circles 100 --members 2000] [--only c0.1,m0.13] [--fail-fast]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.soak.activities import MONTH, YEAR, Intensity, every_activity
from benchmarks.soak.report import database_bytes, render, scheduler_lags
from benchmarks.soak.runner import run_soak, utc
from benchmarks.soak.world import WorldSpec, build_world
from tests.postgres_server import PostgresServer

START = utc(2027, 1, 4)  # a Monday; the year crosses every zone's daylight-saving changes


async def one_run(  # type: ignore[no-untyped-def]
    spec: WorldSpec, backend: str, intensity: Intensity, start=START, only=(), fail_fast=False
) -> tuple[str, bool]:
    world = build_world(spec)
    postgres = PostgresServer.start() if backend == "pg" else None
    try:
        url = postgres.create_database("soak") if postgres else None
        with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
            holder: dict[str, object] = {}

            async def finish(soak) -> None:  # type: ignore[no-untyped-def]
                holder["lags"] = await scheduler_lags(soak)
                holder["bytes"] = await database_bytes(soak)

            soak, history, wall = await run_soak(
                world,
                every_activity(intensity),
                Path(tmp),
                start,
                url,
                before_teardown=finish,
                only=only,
                fail_fast=fail_fast,
            )
            text = render(
                soak, history, wall, holder["lags"], int(holder["bytes"]),  # type: ignore[arg-type]
                "SQLite" if backend == "sqlite" else "PostgreSQL",
            )  # fmt: skip
            if soak.violations:
                first = soak.violations[0]
                text += (
                    "\n  replay the events of this break alone (with every fault): "
                    f"{' '.join(sys.argv[:1])} {_args_without_only()} "
                    f"--backends {backend} --only {','.join(first.subjects)}"
                )
            return text, not soak.violations
    finally:
        if postgres is not None:
            postgres.stop()


def _args_without_only() -> str:
    args, skip = [], False
    for arg in sys.argv[1:]:
        if skip or arg in ("--only", "--backends"):
            skip = not skip
            continue
        args.append(arg)
    return " ".join(args)


def _print_tasks() -> None:
    """On SIGUSR1: what every task of the run awaits (a long run that seems stuck)."""
    for task in asyncio.all_tasks():
        chain, coro = [], task.get_coro()
        while coro is not None and hasattr(coro, "cr_frame"):
            frame = coro.cr_frame
            if frame is not None:
                chain.append(f"{frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}")
            coro = coro.cr_await
        print(f"--- {task.get_name()}: " + " > ".join(chain), file=sys.stderr)


async def main(options: argparse.Namespace) -> int:
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, _print_tasks)
    spec = WorldSpec(
        seed=options.seed,
        servers=options.servers,
        circles=options.circles,
        members=options.members,
        days=options.days,
    )
    ok = True
    for backend in options.backends.split(","):
        only = [s for s in options.only.split(",") if s]
        intensity = YEAR if options.days > 90 else MONTH
        print(f"  intensity: {intensity}", file=sys.stderr, flush=True)
        text, held = await one_run(spec, backend, intensity, only=only, fail_fast=options.fail_fast)
        text += f"\n  intensity: {intensity}"

        print(text, flush=True)
        ok = ok and held
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--servers", type=int, default=10)
    parser.add_argument("--circles", type=int, default=100)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--backends", default="sqlite,pg")
    parser.add_argument(
        "--only",
        default="",
        help="replay only the events of these subjects (c0.1,m0.13), faults too",
    )
    parser.add_argument("--fail-fast", action="store_true", help="stop at the first break")
    sys.exit(asyncio.run(main(parser.parse_args())))
