"""Keeping under Discord's global REST limit instead of running into it.

Discord allows a bot 50 requests per second across every route, counted by the bot's token
(interaction answers, which carry no token, are not counted). discord.py only learns of that
limit from a 429, and Discord counts 429s towards a temporary ban. A round storm (every
circle's prompt due at once) sends far more than 50 at once, so every request that carries
the bot's token first takes its turn from a leaky bucket (``aiolimiter``) in the aiohttp
``on_request_start`` hook of the client's ``http_trace``. The bucket leaks at 40 requests
per second with bursts of 5: at most 45 in any second, a margin under 50 for jitter.

Several shard processes share one token: each paces at its shards' share of the budget
(2 of 4 shards: 20 per second, bursts of 2), so together they stay under the limit.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from aiolimiter import AsyncLimiter

from bot.sharding import Ownership

PER_SECOND = 40.0  # sustained, for the whole bot (Discord's limit: 50)
BURST = 5


class GlobalPacer:
    """A request carrying the bot's token waits for its turn before it is sent."""

    def __init__(self, per_second: float = PER_SECOND, burst: int = BURST) -> None:
        self.per_second, self.burst = per_second, burst
        self._bucket = AsyncLimiter(burst, burst / per_second)

    @classmethod
    def for_share(cls, ownership: Ownership) -> GlobalPacer:
        """This process's share of the bot's budget: its shards out of all of them."""
        if ownership.shard_ids is None:
            return cls()
        share = len(set(ownership.shard_ids)) / ownership.shard_count
        return cls(PER_SECOND * share, max(1, round(BURST * share)))

    def attach(self, trace: aiohttp.TraceConfig) -> aiohttp.TraceConfig:
        trace.on_request_start.append(self._on_request_start)
        return trace

    async def _on_request_start(
        self, session: aiohttp.ClientSession, context: Any, params: aiohttp.TraceRequestStartParams
    ) -> None:
        if params.headers.get("Authorization", "").startswith("Bot "):
            await self._bucket.acquire()
