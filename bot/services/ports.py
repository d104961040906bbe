"""What services need from Discord, as protocols: the cogs' side implements them.

Services speak in domain values; rendering and the HTTP calls stay on the Discord side.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.domain.checkins import RoundSummary, SharedAnswer
from bot.domain.circles import Circle, Round
from bot.services.outbox import DeliveryRun


class CheckinNotifier(Protocol):
    """Each method raises `DeliveryFailed` when Discord refused or could not be reached."""

    async def post_round(self, circle: Circle, round_: Round, nonce: str) -> int:
        """Post the prompt with its Check in button; the message id."""
        ...

    async def post_summary(
        self, circle: Circle, round_: Round, summary: RoundSummary, run: DeliveryRun
    ) -> None: ...

    async def deliver_to_facilitators(
        self,
        circle: Circle,
        round_: Round,
        answers: Sequence[SharedAnswer],
        facilitator_ids: Sequence[int],
        run: DeliveryRun,
    ) -> None:
        """Facilitators-only answers, privately: DMs, or a private thread for closed DMs."""
        ...

    async def facilitators_now(self, guild_id: int, user_ids: Sequence[int]) -> list[int]:
        """Those of `user_ids` who are facilitators of the server right now (asked of Discord)."""
        ...

    async def remind(self, user_id: int, circle: Circle, round_: Round, nonce: str) -> bool:
        """One DM before close; False when it could not be delivered."""
        ...


class SafetyNotifier(Protocol):
    async def alert_facilitators(self, channel_id: int, user_id: int, where: str) -> None:
        """A private note that a member may want support. Never their words."""
        ...
