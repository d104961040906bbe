"""The scale-out benchmark still runs: a tiny round storm on every setup, no times asserted.

`benchmarks/bench_storm.py` at a scale of a few servers (two circles each, so the
one-server-many-circles path runs too), on SQLite, PostgreSQL and two PostgreSQL shard
processes, must exit 0 (every prompt posted once) and print each of its figures.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIGURES = (
    "ready (launch → Ready line)",
    "RSS after ready",
    "due → prompt posted",
    "prompts per second",
    "due → round opened",
    "scheduler lag (bot's /metrics histogram",
    "429s:",
    "/ping idle:",
    "/ping in the storm:",
)


@pytest.mark.timeout(300)
def test_the_storm_benchmark_runs_at_tiny_scale_and_prints_its_figures() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "CIRCLEKEEPER_"))}
    result = subprocess.run(
        [
            sys.executable,
            "benchmarks/bench_storm.py",
            *("--servers", "4", "--members", "3", "--circles", "2", "--lead", "6"),
            *("--setups", "sqlite,pg,pg-2proc"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    out = result.stdout
    assert result.returncode == 0, f"exit {result.returncode}\n{out}\n{result.stderr[-3000:]}"
    for setup in ("sqlite", "pg", "pg-2proc"):
        section = out.split(f"== {setup} ==", 1)[1].split("\n== ", 1)[0]
        assert "storm: 8 of 8 prompts posted" in section, section
        assert "duplicates: 0" in section, section
        for figure in FIGURES:
            assert figure in section, f"{setup}: no {figure!r}\n{section}"
    assert "Ratios to sqlite" in out
