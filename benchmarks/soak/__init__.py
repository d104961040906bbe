"""The simulated year: the real bot and the local Discord server, a seeded world of servers,
circles and members living with the bot on a clock the runner moves, faults injected, and
invariants checked as it goes. `benchmarks/bench_year.py` runs it; `tests/test_soak.py` runs
a month of it.

- `world`: the seeded model (servers, circles, zones, members).
- `history`: the events drawn from the seed, and the shortest history behind a break.
- `runner`: the run itself (clock, bot process, faults, acknowledgements).
- one module per feature (`checkins`, ...): what members do, and that feature's invariants.
"""
