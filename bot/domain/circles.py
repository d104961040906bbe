"""Circles and their rounds, as plain values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.domain.schedule import RoundSchedule
from bot.errors import ValidationError

NAME_MAX = 50
AGREEMENT_MAX = 1500

DEFAULT_AGREEMENT = (
    "• What is shared here stays here. We don't repeat members' words or names outside the circle.\n"
    "• We show up when we can, and say so when we can't. No one owes an explanation.\n"
    "• We listen more than we fix. Advice only when someone asks for it.\n"
    "• Disagreements are talked through kindly, with a facilitator's help if needed.\n"
    "• This circle is peer support, not therapy or a crisis service. When someone needs more, "
    "we encourage professional help, and `/crisis` lists lines open right now."
)

_MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d+>")


@dataclass(frozen=True)
class Circle:
    id: int
    guild_id: int
    name: str
    channel_id: int
    timezone: str
    agreement: str | None
    schedule: RoundSchedule | None
    created_at: datetime

    @property
    def agreement_text(self) -> str:
        return self.agreement or DEFAULT_AGREEMENT


@dataclass(frozen=True)
class Round:
    id: int
    circle_id: int
    guild_id: int
    slot: str
    prompt: str
    channel_id: int
    message_id: int | None
    opened_at: datetime
    closes_at: datetime
    closed_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


def validate_circle_name(text: str) -> str:
    name = " ".join(text.split())
    if not name or len(name) > NAME_MAX or _MENTION.search(name):
        raise ValidationError(
            f"A circle's name is 1–{NAME_MAX} characters, without mentions.",
            "/facilitate circle create name:Tuesday Evenings",
        )
    return name


def validate_agreement(text: str) -> str:
    agreement = text.strip()
    if not agreement or len(agreement) > AGREEMENT_MAX:
        raise ValidationError(
            f"The agreement is 1–{AGREEMENT_MAX:,} characters.",
            "• What is shared here stays here.",
        )
    if _MENTION.search(agreement):
        raise ValidationError(
            "The agreement can't contain @everyone, @here or mentions.",
            "• We listen more than we fix.",
        )
    return agreement
