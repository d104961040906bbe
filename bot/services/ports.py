"""What services need from Discord, as protocols: the cogs' side implements them.

Services speak in domain values; rendering and the HTTP calls stay on the Discord side.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.domain.checkins import RoundSummary, SharedAnswer
from bot.domain.circles import Circle, Round


class CheckinNotifier(Protocol):
    async def post_round(self, circle: Circle, round_: Round) -> int | None:
        """Post the prompt with its Check in button; the message id, or None if it failed."""
        ...

    async def post_summary(self, circle: Circle, round_: Round, summary: RoundSummary) -> None: ...

    async def deliver_to_facilitators(
        self,
        circle: Circle,
        round_: Round,
        answers: Sequence[SharedAnswer],
        facilitator_ids: Sequence[int],
    ) -> None:
        """Facilitators-only answers, privately: DMs, or a private thread for closed DMs."""
        ...

    async def remind(self, user_id: int, circle: Circle, round_: Round) -> bool:
        """One DM before close; False when it could not be delivered."""
        ...


class SafetyNotifier(Protocol):
    async def alert_facilitators(self, channel_id: int, user_id: int, where: str) -> None:
        """A private note that a member may want support. Never their words."""
        ...
