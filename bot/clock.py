"""An injectable clock: services ask it for the time, tests move it instead of waiting."""

from __future__ import annotations

import asyncio
import mmap
import struct
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        if self._now.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FakeClock needs timezone-aware times")
        self._now = when


class SharedClock:
    """The system's time plus an offset that another process moves: the soak runner's year.

    The offset lives in a 16-byte file mapped into memory (seconds as a float, then a count
    of moves), so reading the time costs no system call. Only the soak runner and tests set
    ``CIRCLEKEEPER_CLOCK_FILE``; a real installation runs on :class:`SystemClock`.
    """

    _LAYOUT = struct.Struct("<dQ")

    def __init__(self, path: Path) -> None:
        with path.open("r+b") as file:
            self._map = mmap.mmap(file.fileno(), self._LAYOUT.size)

    @classmethod
    def create(cls, path: Path, offset: timedelta = timedelta()) -> SharedClock:
        path.write_bytes(cls._LAYOUT.pack(offset.total_seconds(), 0))
        return cls(path)

    def _read(self) -> tuple[float, int]:
        while True:  # the writer may be mid-way through the 16 bytes: read until stable
            first = self._LAYOUT.unpack_from(self._map)
            if self._LAYOUT.unpack_from(self._map) == first:
                return first

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._read()[0])

    @property
    def moves(self) -> int:
        """How many times the clock was moved: a change means timers may have fallen due."""
        return self._read()[1]

    def move_to(self, when: datetime) -> None:
        """Set the time (forward only: a clock running backwards is not a world we model)."""
        offset, moves = self._read()
        wanted = (when - datetime.now(UTC)).total_seconds()
        self._LAYOUT.pack_into(self._map, 0, max(offset, wanted), moves + 1)

    def close(self) -> None:
        self._map.close()


async def follow_moves(
    clock: SharedClock, on_move: Callable[[], Awaitable[None]], every: float = 0.005
) -> None:
    """Call `on_move` after each move of a shared clock (until cancelled): timers armed for
    the old time must be armed again, and what fell due must run now."""
    seen = clock.moves
    while True:
        await asyncio.sleep(every)
        if clock.moves != seen:
            seen = clock.moves
            await on_move()
