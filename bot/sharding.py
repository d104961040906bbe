"""Which work belongs to this process when the bot runs as several shard processes.

Discord routes a server to shard ``(guild_id >> 22) % shard_count``. A process that runs a
set of shards owns those servers: it arms only their timers, delivers only their outbox
rows and reconciles only their departures. Work that belongs to no server (DMs) is owned
by whichever process runs shard 0. An unsharded process owns everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def shard_of(guild_id: int, shard_count: int) -> int:
    """Discord's rule: the shard a server's events arrive on."""
    return (guild_id >> 22) % shard_count


@dataclass(frozen=True)
class Ownership:
    """The shards a process runs; ``shard_ids=None`` (unsharded) owns every server."""

    shard_ids: tuple[int, ...] | None = None
    shard_count: int = 1

    def __post_init__(self) -> None:
        if self.shard_count < 1:
            raise ValueError("shard_count must be at least 1")
        if self.shard_ids is not None:
            if not self.shard_ids:
                raise ValueError("a sharded process runs at least one shard")
            bad = [s for s in self.shard_ids if not 0 <= s < self.shard_count]
            if bad:
                raise ValueError(
                    f"shard {bad[0]} is outside 0-{self.shard_count - 1} for {self.shard_count} shard(s)"
                )

    @property
    def sharded(self) -> bool:
        return self.shard_ids is not None

    @property
    def everything(self) -> bool:
        """True when this one process runs every shard (or is unsharded)."""
        return self.shard_ids is None or set(self.shard_ids) == set(range(self.shard_count))

    @property
    def owns_dms(self) -> bool:
        return self.shard_ids is None or 0 in self.shard_ids

    def owns_guild(self, guild_id: int) -> bool:
        return self.shard_ids is None or shard_of(guild_id, self.shard_count) in self.shard_ids

    def owns(self, guild_id: int | None) -> bool:
        """Work about `guild_id`; None means DM-only work, which belongs to shard 0."""
        return self.owns_dms if guild_id is None else self.owns_guild(guild_id)

    @property
    def label(self) -> str:
        """A stable name for this process's share, e.g. ``shards 0-3/8`` (``all`` unsharded)."""
        if self.shard_ids is None:
            return "all"
        return f"shards {format_shards(self.shard_ids)}/{self.shard_count}"


def parse_shards(text: str) -> tuple[int, ...]:
    """``"0-3"`` → (0, 1, 2, 3); ``"0,2,5-6"`` → (0, 2, 5, 6). ValueError if malformed."""
    found: set[int] = set()
    for part in text.split(","):
        match = _RANGE.match(part)
        if match is None:
            raise ValueError(f"{part.strip()!r} is not a shard number or range like 0-3")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise ValueError(f"{part.strip()!r} runs backwards")
        found.update(range(first, last + 1))
    return tuple(sorted(found))


def format_shards(shard_ids: tuple[int, ...]) -> str:
    """The inverse of :func:`parse_shards`, with runs folded: (0, 1, 2, 5) → ``0-2,5``."""
    parts: list[str] = []
    ids = sorted(shard_ids)
    start = prev = ids[0]
    for shard in [*ids[1:], None]:
        if shard is not None and shard == prev + 1:
            prev = shard
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if shard is not None:
            start = prev = shard
    return ",".join(parts)
