"""The crisis card as sent: the region renderer, plus a plain-text fallback that cannot fail."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import discord

from bot.services.crisis import CrisisCard
from bot.ui.crisis import crisis_embeds

log = logging.getLogger(__name__)

# Shown if rendering ever fails: static text, no lookups, always within Discord's limits.
FALLBACK_TEXT = (
    "**If you are in immediate danger, call your local emergency number (911 in the US and Canada, "
    "999 or 112 in the UK, 112 across Europe, 000 in Australia).**\n"
    "US: call or text **988** (Suicide & Crisis Lifeline) · SAMHSA National Helpline **1-800-662-4357** · "
    "text HOME to **741741**.\n"
    "Elsewhere: <https://findahelpline.com> lists free, confidential lines by country.\n"
    "Circlekeeper and your circle are peer support, not a crisis service, and not watched around the clock."
)


@dataclass(frozen=True)
class CardMessage:
    content: str | None
    embeds: list[discord.Embed]


def card_embeds(card: CrisisCard, *, gentle_intro: str | None = None) -> list[discord.Embed]:
    return crisis_embeds(
        card.lookup,
        card.local,
        alerts_enabled=card.alerts_enabled,
        gentle_intro=gentle_intro,
        also=card.also,
    )


def card_message(card: CrisisCard | None, *, gentle_intro: str | None = None) -> CardMessage:
    """The card as embeds, or the fallback text if anything about rendering fails."""
    if card is not None:
        try:
            return CardMessage(None, card_embeds(card, gentle_intro=gentle_intro))
        except Exception as error:
            log.error(
                "Crisis card rendering failed (%s); sending fallback text", type(error).__name__
            )
    intro = f"{gentle_intro}\n\n" if gentle_intro else ""
    return CardMessage(intro + FALLBACK_TEXT, [])
