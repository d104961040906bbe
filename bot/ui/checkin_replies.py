"""What a member sees privately after answering: thanks, and support when it may help."""

from __future__ import annotations

from datetime import datetime

from bot.domain.checkins import Visibility
from bot.domain.moods import mood_label
from bot.services.checkins import Support
from bot.services.crisis import CrisisCard
from bot.services.outbox import Outcome
from bot.ui.crisis import GENTLE_SCREENING_INTRO
from bot.ui.crisis_card import CardMessage, card_message
from bot.ui.timestamps import ts

# The gentle nudge points to the member's own plan (circle care, issue 13).
PLAN_NUDGE = (
    "If you wrote a crisis plan, `/crisisplan view` shows it; `/crisisplan edit` starts one."
)


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
        if answered.buddy_ids:
            buddies = " ".join(f"<@{b}>" for b in answered.buddy_ids)
            reach += f" Your buddy this cycle ({buddies}) is someone you could reach too."
        intro = (
            "Your last few check-ins have been hard ones. You don't have to carry that alone."
            + reach
            + " If you'd like to talk to someone now, these lines are free and confidential."
            + " "
            + PLAN_NUDGE
        )
    else:
        intro = GENTLE_SCREENING_INTRO
    return card_message(card, gentle_intro=intro)


POST_PERMISSIONS = "View Channel, Send Messages and Embed Links"


def opened_message(channel_id: int, closes_at: datetime, outcome: Outcome, repaired: bool) -> str:
    """What a facilitator is told after opening a round: only what is true of the post."""
    if outcome is Outcome.DELIVERED:
        head = (
            f"The open round's prompt had not been posted; it is now, in <#{channel_id}>"
            if repaired
            else f"Opened a round in <#{channel_id}>"
        )
        return f"{head}; it closes {ts(closes_at)}."
    if outcome is Outcome.FAILED:
        return (
            f"The round is open, but I couldn't post its prompt in <#{channel_id}>. I need "
            f"{POST_PERMISSIONS} there; fix that, then run this command again to post it."
        )
    return (
        f"The round is open; its prompt isn't posted yet because Discord hasn't accepted it. "
        f"I'll keep trying and post it in <#{channel_id}> as soon as I can."
    )


def closed_message(answered: int, channel_id: int, outcome: Outcome) -> str:
    head = f"Closed. {answered} checked in;"
    if outcome is Outcome.DELIVERED:
        return f"{head} the summary is posted in <#{channel_id}>."
    if outcome is Outcome.FAILED:
        return (
            f"{head} but I couldn't post the summary in <#{channel_id}>. I need "
            f"{POST_PERMISSIONS} there."
        )
    return f"{head} the summary isn't posted yet. I'll keep trying and post it in <#{channel_id}>."
