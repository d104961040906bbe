"""The crisis plan where other features show it: the check-in nudge, the plan embed."""

from __future__ import annotations

from pathlib import Path

from bot.domain.crisis import parse_directory
from bot.domain.crisisplan import SECTION_MAX, SECTIONS, CrisisPlan
from bot.services.checkins import Support
from bot.services.crisis import CrisisCard
from bot.ui.checkin_replies import PLAN_NUDGE, support_message
from bot.ui.crisis import GENTLE_SCREENING_INTRO
from bot.ui.crisisplan import plan_embed

DIRECTORY = parse_directory(
    (Path(__file__).resolve().parents[2] / "data" / "crisis_resources.toml").read_text("utf-8")
)


def _description(support: Support) -> str:
    message = support_message(support, CrisisCard(DIRECTORY.lookup("GB"), (), False))
    return message.embeds[0].description or ""


def test_the_gentle_nudge_mentions_the_members_plan() -> None:
    assert PLAN_NUDGE in _description(Support(False, True, ()))
    assert "/crisisplan view" in PLAN_NUDGE


def test_the_screening_card_is_unchanged() -> None:
    text = _description(Support(True, False, ()))
    assert GENTLE_SCREENING_INTRO.strip() in text and PLAN_NUDGE not in text


def test_a_full_plan_fits_one_embed() -> None:
    plan = CrisisPlan(1, {s.key: "w" * SECTION_MAX for s in SECTIONS})
    embed = plan_embed(plan)
    assert len(embed.fields) == 7
    assert len(embed) <= 6000 and all(len(f.value or "") <= 1024 for f in embed.fields)
    assert embed.footer.text and embed.footer.text.startswith("Long sections are shortened")


def test_a_short_plan_is_shown_whole() -> None:
    plan = CrisisPlan(1, {"reasons": "r" * SECTION_MAX, "coping": "tea"})
    embed = plan_embed(plan)
    assert embed.fields[6].value == "r" * SECTION_MAX and embed.fields[1].value == "tea"
    assert embed.fields[0].value == "—"
    assert embed.footer.text and "shortened" not in embed.footer.text
