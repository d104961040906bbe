"""The screening safety net: clear signs match, near misses and negations do not."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.screening import Screener, ScreeningResult

PHRASES = Path(__file__).resolve().parents[2] / "data" / "screening_phrases.txt"
SCREENER = Screener.from_text(PHRASES.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "text",
    [
        "I want to die",
        "i just want to die tbh",
        "I WANT TO DIE",
        "i wanna dieeee",
        "I want 2 die",
        "I'm going to kill myself",
        "im gonna kill myself",
        "I want to kiiiill myself",
        "I want to killl myself",
        "i want to k1ll myself",
        "K!LL MYSELF",
        "ｋｉｌｌ ｍｙｓｅｌｆ",
        "kill my self",
        "I’m thinking about ending it",
        "I can't stop thinking about ending it",
        "i'm going to end it all",
        "I can’t go on",
        "i cant go on like this",
        "I cannot go on",
        "there's no reason to live",
        "I have nothing to live for",
        "everyone would be better off without me",
        "they'd be better off without me.",
        "no one would miss me",
        "I don't want to be alive anymore",
        "i dont want to live",
        "I am suicidal",
        "feeling really suicidal tonight",
        "Suicidal again.",
        "I want to unalive myself",
        "kms",
        "ugh kms",
        "I'm gonna kms",
        "I want to hurt myself",
        "i wanna hurt myself again",
        "I keep hurting myself again",
        "I've been cutting myself",
        "I want to end my life",
        "I'm planning to take my own life",
        "I wish I was dead",
        "I'd rather be dead",
        "I hope I never wake up",
        "honestly I'm so tired of living",
        # negation in an earlier clause does not cancel a later one
        "I'm not ok, I want to die",
        "not suicidal, just want to die",
        "I'm not okay but I want to die",
        "I don't know why I want to die",
        "I'm not suicidal. I just want to die",
        # zero-width characters and accents do not hide a phrase
        "kill\u200b myself",
        "I want to dïe",
    ],
)
def test_clear_signs_match(text: str) -> None:
    result = SCREENER.screen(text)
    assert result.matched, text
    assert result.phrase_id


@pytest.mark.parametrize(
    "text",
    [
        "",
        "I'm killing it at work",
        "this homework is killing me",
        "I could die laughing",
        "I nearly killed myself laughing",
        "I'm dying of laughter",
        "I want to die of embarrassment",
        "cutting myself some slack today",
        "I'm cutting myself off from social media",
        "ran 5 kms today",
        "only 10 kms to go",
        "the kill count in this game is wild",
        "My plants die when I forget them",
        "I want to end it with him, he's not good for me",
        "suicidal tendencies is a great band",
        "I feel better today",
        "we talked about the 988 lifeline at the meeting",
        "skill myself up for the new job",
        "deadline is killing me",
    ],
)
def test_near_misses_do_not_match(text: str) -> None:
    assert SCREENER.screen(text) == ScreeningResult(matched=False), text


@pytest.mark.parametrize(
    "text",
    [
        "I'm not suicidal",
        "I’m not suicidal, just tired",
        "not feeling suicidal anymore",
        "I'm no longer suicidal",
        "I'm not going to kill myself",
        "I would never kill myself",
        "I will never ever kill myself",
        "I never thought about ending it",
        "I don't want to die",
        "I'm not gonna hurt myself",
        "I'm not going to kms",
    ],
)
def test_negations_do_not_match(text: str) -> None:
    assert not SCREENER.screen(text).matched, text


def test_result_exposes_only_matched() -> None:
    result = SCREENER.screen("I want to die")
    assert result == ScreeningResult(matched=True)  # the id is not part of equality
    assert "phrase_id" not in repr(result)


def test_from_text_formats() -> None:
    screener = Screener.from_text(
        "# a comment\n\nfeel hopeless\n  want to vanish  \n! want to vanish for a nap\n"
    )
    assert screener.phrase_count == 2
    assert screener.screen("I feel HOPELESS").phrase_id == "fel hopeles"
    assert screener.screen("i want to vanish").matched
    assert not screener.screen("i want to vanish for a nap").matched


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no phrases"),
        ("# only comments\n", "no phrases"),
        ("ok\n...\n", "line 2"),
        ("ok\n<num> apples\n", "line 2"),
        ("ok\n! <num>\n", "line 2"),
    ],
)
def test_from_text_rejects_bad_lists(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Screener.from_text(text)


def test_shipped_list_is_substantial_and_has_no_method_words() -> None:
    text = PHRASES.read_text(encoding="utf-8").casefold()
    assert SCREENER.phrase_count >= 50
    for word in ("pills", "overdose", "rope", "hang", "jump off", "bridge", "gun", "razor"):
        assert word not in text, word


def test_screening_doc_documents_limits() -> None:
    doc = (PHRASES.parent / "SCREENING.md").read_text(encoding="utf-8").casefold()
    for topic in ("sarcasm", "indirect", "other languages", "quotes", "lyrics", "someone else"):
        assert topic in doc, topic
    assert "never blocks" in doc


@given(st.text(max_size=500))
def test_screen_never_raises_and_is_deterministic(text: str) -> None:
    first = SCREENER.screen(text)
    second = SCREENER.screen(text)
    assert isinstance(first.matched, bool)
    assert first == second and first.phrase_id == second.phrase_id


@given(st.text(alphabet=st.sampled_from("kilmysefwantodie .,!'’1@$0\u200b"), max_size=200))
def test_screen_on_adversarial_alphabet(text: str) -> None:
    assert SCREENER.screen(text) == SCREENER.screen(text)
