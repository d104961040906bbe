"""Holding requests at a chosen point, so tests can kill the bot between two steps.

A hold stops matching REST requests either **before** the server acts on them (the request
reached Discord, nothing happened yet) or **after** it acted but before the response goes
back (Discord did it; the bot never heard). A test waits until the bot is stuck there,
kills the bot's process, and releases the hold. A request held *before* whose client has
gone away by then is dropped unhandled, as a request that never arrived would be.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Stage = Literal["before", "after"]


@dataclass(eq=False)
class Hold:
    """Matching requests wait here until :meth:`release`; `count` limits how many are caught."""

    route: str
    stage: Stage
    match: Callable[[dict[str, Any]], bool] | None = None
    count: int | None = 1
    caught: int = 0
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    def wants(self, route: str, stage: Stage, body: dict[str, Any]) -> bool:
        if self._released.is_set() or route != self.route or stage != self.stage:
            return False
        if self.count is not None and self.caught >= self.count:
            return False
        return self.match is None or bool(self.match(body))

    async def wait_caught(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Until a matching request is held here."""
        await asyncio.wait_for(self._arrived.wait(), timeout)

    def release(self) -> None:
        self._released.set()

    async def _hold(self) -> None:
        self.caught += 1
        self._arrived.set()
        await self._released.wait()


class Faults:
    """The server's registry of holds; the REST middleware consults it at both stages."""

    def __init__(self) -> None:
        self._holds: list[Hold] = []

    @property
    def active(self) -> bool:
        return any(not hold._released.is_set() for hold in self._holds)

    def hold(
        self,
        route: str,
        *,
        stage: Stage = "before",
        match: Callable[[dict[str, Any]], bool] | str | None = None,
        count: int | None = 1,
    ) -> Hold:
        """Hold requests on `route` (e.g. "POST /channels/{channel_id}/messages").

        `match` filters on the JSON body: a callable, or a regular expression searched in
        the body's text (content, embed titles and descriptions).
        """
        predicate = _text_matcher(match) if isinstance(match, str) else match
        hold = Hold(route, stage, predicate, count)
        self._holds.append(hold)
        return hold

    def release_all(self) -> None:
        for hold in self._holds:
            hold.release()

    async def wait(self, route: str, stage: Stage, body: dict[str, Any]) -> bool:
        """Hold the request if a hold wants it; True if it was held."""
        for hold in self._holds:
            if hold.wants(route, stage, body):
                await hold._hold()
                return True
        return False


def body_text(body: dict[str, Any]) -> str:
    parts = [str(body.get("content") or "")]
    for embed in body.get("embeds") or []:
        parts += [str(embed.get(key) or "") for key in ("title", "description")]
    return "\n".join(parts)


def _text_matcher(pattern: str) -> Callable[[dict[str, Any]], bool]:
    compiled = re.compile(pattern)
    return lambda body: compiled.search(body_text(body)) is not None
