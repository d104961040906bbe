"""Members' values quoted back in refusals: one line, clipped."""

from __future__ import annotations

from bot.text import QUOTE_MAX, clip, quote


def test_a_long_value_is_clipped_with_an_ellipsis() -> None:
    assert quote("x" * 6000) == "“" + "x" * (QUOTE_MAX - 1) + "…”"
    assert clip("abc", 3) == "abc" and clip("abcd", 3) == "ab…"


def test_a_value_is_quoted_on_one_line() -> None:
    assert quote("  Tuesday\n\n  Evenings ") == "“Tuesday Evenings”"
