"""The global pacer: which requests wait their turn, and each shard process's share."""

from __future__ import annotations

from collections.abc import Coroutine
from types import SimpleNamespace
from typing import Any, cast

import aiohttp
from multidict import CIMultiDict

from bot.pacing import BURST, PER_SECOND, GlobalPacer
from bot.sharding import Ownership

DISCORD_LIMIT = 50  # requests per second per bot


def _start(pacer: GlobalPacer, headers: dict[str, str]) -> Coroutine[Any, Any, None]:
    trace = pacer.attach(aiohttp.TraceConfig())
    hook = trace.on_request_start[0]
    params = SimpleNamespace(method="POST", url=None, headers=CIMultiDict(headers))
    return cast(Coroutine[Any, Any, None], hook(None, None, params))  # type: ignore[arg-type]


def _finishes_at_once(coro: Coroutine[Any, Any, None]) -> bool:
    """True when the hook returns without waiting for anything."""
    try:
        coro.send(None)
    except StopIteration:
        return True
    coro.close()
    return False


async def test_requests_with_the_bot_token_wait_once_the_burst_is_spent() -> None:
    pacer = GlobalPacer(per_second=1.0, burst=2)
    bot = {"Authorization": "Bot abc.def"}
    assert _finishes_at_once(_start(pacer, bot))
    assert _finishes_at_once(_start(pacer, bot))
    assert not _finishes_at_once(_start(pacer, bot))


async def test_interaction_answers_carry_no_token_and_never_wait() -> None:
    pacer = GlobalPacer(per_second=1.0, burst=1)
    assert _finishes_at_once(_start(pacer, {"Authorization": "Bot abc.def"}))
    for _ in range(5):
        assert _finishes_at_once(_start(pacer, {"Content-Type": "application/json"}))


def test_one_process_gets_the_whole_budget_under_discords_limit() -> None:
    pacer = GlobalPacer.for_share(Ownership())
    assert (pacer.per_second, pacer.burst) == (PER_SECOND, BURST)
    assert pacer.per_second + pacer.burst < DISCORD_LIMIT  # the most in any one second


def test_shard_processes_share_the_budget_by_their_shards() -> None:
    low = GlobalPacer.for_share(Ownership((0, 1), 4))
    high = GlobalPacer.for_share(Ownership((2, 3), 4))
    assert (low.per_second, high.per_second) == (PER_SECOND / 2, PER_SECOND / 2)
    assert low.per_second + low.burst + high.per_second + high.burst < DISCORD_LIMIT
    every_shard_here = GlobalPacer.for_share(Ownership((0, 1, 2, 3), 4))
    assert every_shard_here.per_second == PER_SECOND
