"""What a member sees privately after answering: thanks, and support when it may help."""

from __future__ import annotations

from bot.domain.checkins import Visibility
from bot.domain.moods import mood_label
from bot.services.checkins import Support
from bot.services.crisis import CrisisCard
from bot.ui.crisis import GENTLE_SCREENING_INTRO
from bot.ui.crisis_card import CardMessage, card_message


def answered_message(replaced: bool, mood: int, visibility: Visibility) -> str:
    verb = "updated" if replaced else "saved"
    return (
        f"Thank you. Your check-in is {verb}: {mood_label(mood)}, seen by {visibility.label}. "
        "You can change it until the round closes."
    )


def support_message(answered: Support, card: CrisisCard) -> CardMessage:
    """Shown only to the author: a gentle word, who they could reach, and the crisis card."""
    if answered.gentle_nudge:
        people = " ".join(f"<@{f}>" for f in answered.facilitator_ids[:5])
        reach = (
            f" Your circle's facilitators ({people}) are people you could reach out to."
            if people
            else ""
        )
        intro = (
            "Your last few check-ins have been hard ones. You don't have to carry that alone."
            + reach
            + " If you'd like to talk to someone now, these lines are free and confidential."
        )
    else:
        intro = GENTLE_SCREENING_INTRO
    return card_message(card, gentle_intro=intro)
