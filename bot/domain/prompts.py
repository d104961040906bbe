"""Check-in prompts: a bank (shipped in ``data/prompts.txt`` plus a circle's own) and
a draw that does not repeat within a circle until every prompt has been used.

Reading the file is the caller's job (services); this module only parses text.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence

from bot.errors import ValidationError

PROMPT_MIN = 5
PROMPT_MAX = 300


def parse_prompt_bank(text: str) -> tuple[str, ...]:
    """One prompt per line; blank lines and lines starting with '#' are skipped,
    inner whitespace is collapsed and repeats are dropped (first kept)."""
    prompts: dict[str, None] = {}
    for line in text.splitlines():
        prompt = " ".join(line.split())
        if prompt and not prompt.startswith("#"):
            prompts.setdefault(prompt)
    return tuple(prompts)


def validate_prompt(text: str) -> str:
    """A facilitator's own prompt: one line of 5–300 characters."""
    prompt = " ".join(text.split())
    if not PROMPT_MIN <= len(prompt) <= PROMPT_MAX:
        raise ValidationError(
            f"A prompt is one line of {PROMPT_MIN} to {PROMPT_MAX} characters "
            f"(this one has {len(prompt)}).",
            "prompt: What's one thing that helped this week?",
        )
    return prompt


def pick_prompt(bank: Sequence[str], used: Collection[str], rng: random.Random) -> str:
    """A prompt from ``bank`` not in ``used``; once all are used, any from the bank
    (the caller then starts a fresh ``used`` with the pick)."""
    if not bank:
        raise ValueError("the prompt bank is empty")
    unique = list(dict.fromkeys(bank))
    spent = set(used)
    fresh = [p for p in unique if p not in spent]
    return rng.choice(fresh or unique)
