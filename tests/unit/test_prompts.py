"""The prompt bank and a draw without repeats until the bank is used up."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.prompts import (
    PROMPT_MAX,
    parse_prompt_bank,
    pick_prompt,
    validate_prompt,
)
from bot.errors import ValidationError

SHIPPED = Path(__file__).resolve().parents[2] / "data" / "prompts.txt"


def test_parse_prompt_bank() -> None:
    text = "# a comment\n\nHow are you?\n  What   helped?  \n#another\nHow are you?\n"
    assert parse_prompt_bank(text) == ("How are you?", "What helped?")
    assert parse_prompt_bank("") == ()


def test_shipped_bank() -> None:
    bank = parse_prompt_bank(SHIPPED.read_text(encoding="utf-8"))
    assert 25 <= len(bank) <= 40
    assert all(p.endswith("?") for p in bank)
    assert all(validate_prompt(p) == p for p in bank)
    assert (
        "What's one thing that took energy from you this week, and one thing that gave some back?"
        in bank
    )


def test_pick_prefers_unused_and_starts_over() -> None:
    rng = random.Random(1)
    bank = ["a", "b", "c"]
    assert pick_prompt(bank, {"a", "b"}, rng) == "c"
    assert pick_prompt(bank, {"a", "b", "c"}, rng) in bank
    assert pick_prompt(bank, {"a", "b", "c", "gone"}, rng) in bank


def test_pick_from_empty_bank_is_a_bug() -> None:
    with pytest.raises(ValueError):
        pick_prompt([], set(), random.Random(0))


@given(
    st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=40),
    st.integers(0, 2**32),
)
def test_no_repeat_until_the_bank_is_used_up(bank: list[str], seed: int) -> None:
    rng = random.Random(seed)
    unique = set(bank)
    used: list[str] = []
    for _ in range(len(unique)):
        used.append(pick_prompt(bank, used, rng))
    assert len(set(used)) == len(used)
    assert set(used) == unique
    # Used up: the next draw starts over from the whole bank.
    assert pick_prompt(bank, used, rng) in unique


@given(st.integers(0, 2**32))
def test_custom_prompts_are_just_more_entries(seed: int) -> None:
    rng = random.Random(seed)
    bank = [*parse_prompt_bank(SHIPPED.read_text(encoding="utf-8")), "Our own question?"]
    used: set[str] = set()
    for _ in range(len(bank)):
        used.add(pick_prompt(bank, used, rng))
    assert "Our own question?" in used


@pytest.mark.parametrize("text", ["", "hey", "x" * (PROMPT_MAX + 1)])
def test_validate_prompt_refuses(text: str) -> None:
    with pytest.raises(ValidationError):
        validate_prompt(text)


def test_validate_prompt_collapses_lines() -> None:
    assert validate_prompt("  What helped\n this week? ") == "What helped this week?"
