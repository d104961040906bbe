"""SQL for "rows this process owns": Discord's shard rule on a guild id column."""

from __future__ import annotations

from bot.sharding import Ownership


def owned(column: str, ownership: Ownership) -> str:
    """A WHERE condition true for rows of servers this process owns (NULL: DM-only work,
    owned by shard 0). Only integers from `ownership` are inlined, never outside input."""
    if ownership.everything or ownership.shard_ids is None:
        return "1 = 1"
    shards = ", ".join(str(int(s)) for s in ownership.shard_ids)
    guilds = (
        f"({column} IS NOT NULL AND ({column} >> 22) % {int(ownership.shard_count)} IN ({shards}))"
    )
    return f"({column} IS NULL OR {guilds})" if ownership.owns_dms else guilds
