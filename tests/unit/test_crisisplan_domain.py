"""The crisis plan's rules: sections, the two parts, limits, the file, the prefill."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.crisis import (
    LOCALE_REGIONS,
    Contact,
    CrisisLine,
    Region,
    parse_directory,
    region_for_locale,
)
from bot.domain.crisisplan import (
    PARTS,
    SECTION_KEYS,
    SECTION_MAX,
    SECTIONS,
    CrisisPlan,
    clean_part,
    decode_parts,
    encode_part,
    plan_text,
    professionals_prefill,
)
from bot.errors import ValidationError

DATA = Path(__file__).resolve().parents[2] / "data" / "crisis_resources.toml"


def test_the_seven_stanley_brown_sections_in_two_forms_of_at_most_five() -> None:
    assert len(SECTIONS) == 7
    assert [key for part in (1, 2) for key in PARTS[part]] == list(SECTION_KEYS)
    assert all(len(PARTS[part]) <= 5 for part in PARTS)
    assert all(len(s.label) <= 45 and len(s.placeholder) <= 100 for s in SECTIONS)
    assert "reasons" in PARTS[2] and "warning_signs" in PARTS[1]


def test_empty_sections_are_fine_and_text_is_stripped() -> None:
    cleaned = clean_part(1, {"warning_signs": "  can't sleep \r\n", "coping": None})
    assert cleaned == {
        "warning_signs": "can't sleep",
        "coping": "",
        "distractions": "",
        "helpers": "",
    }


def test_a_part_only_takes_its_own_sections() -> None:
    cleaned = clean_part(2, {"warning_signs": "not mine", "reasons": "my dog"})
    assert set(cleaned) == set(PARTS[2])
    assert cleaned["reasons"] == "my dog"


@pytest.mark.parametrize("length", [SECTION_MAX + 1, 4001])
def test_an_overlong_section_is_refused_with_its_name(length: int) -> None:
    with pytest.raises(ValidationError) as info:
        clean_part(2, {"safer": "x" * length})
    assert "Making my surroundings safer" in info.value.message
    assert f"{length:,}" in info.value.message
    assert "Nothing was saved" in info.value.message
    assert info.value.example and "/crisisplan edit" in info.value.example


def test_exactly_the_limit_is_kept() -> None:
    assert clean_part(1, {"helpers": "y" * SECTION_MAX})["helpers"] == "y" * SECTION_MAX


def test_an_unknown_part_is_refused() -> None:
    with pytest.raises(ValidationError):
        clean_part(3, {})


@given(
    st.dictionaries(
        st.sampled_from(SECTION_KEYS), st.text(max_size=SECTION_MAX), max_size=len(SECTION_KEYS)
    )
)
def test_parts_round_trip_through_storage_form(values: dict[str, str]) -> None:
    one, two = clean_part(1, values), clean_part(2, values)
    merged = decode_parts([encode_part(one), encode_part(two)])
    assert merged == {**one, **two}
    plan = CrisisPlan(1, merged)
    text = plan_text(plan)
    for entry in SECTIONS:
        assert entry.title in text
        if merged[entry.key]:
            assert merged[entry.key] in text


def test_decoding_ignores_missing_parts_and_unknown_keys() -> None:
    assert decode_parts([None, encode_part({"reasons": "tea", "other": "x"})]) == {"reasons": "tea"}


def test_the_file_says_which_sections_are_empty() -> None:
    text = plan_text(CrisisPlan(1, {"reasons": "my sister"}))
    assert text.startswith("My crisis plan\n")
    assert "7. My reasons to keep going\nmy sister" in text
    assert text.count("(nothing written yet)") == 6
    assert "emergency number" in text
    assert CrisisPlan(1, {"reasons": " "}).is_empty and not CrisisPlan(1, {"reasons": "a"}).is_empty


def test_professionals_are_prefilled_from_the_region_within_the_limit() -> None:
    directory = parse_directory(DATA.read_text(encoding="utf-8"))
    for region in directory.regions:
        text = professionals_prefill(region)
        assert text.startswith("Emergency: ")
        assert len(text) <= SECTION_MAX
    gb = directory.get("GB")
    assert gb is not None
    text = professionals_prefill(gb)
    assert "Emergency: 999 or 112" in text
    assert "Samaritans: call 116 123 (24/7)" in text
    assert "text SHOUT to 85258" in text


def test_prefill_stops_before_the_limit() -> None:
    line = CrisisLine(
        "L" * 300,
        ("general",),
        (Contact("call", "116 123"),),
        "24/7",
        "https://x.org",
        date(2026, 1, 1),
    )
    region = Region("XX", "X", (), ("112",), (line,) * 10)
    text = professionals_prefill(region)
    assert len(text) <= SECTION_MAX
    assert text.count("L" * 300) == 3


@pytest.mark.parametrize(
    ("locale", "code"),
    [
        ("pt-BR", "BR"),
        ("ja", "JP"),
        ("ko", "KR"),
        ("es-ES", "ES"),
        ("en-US", None),
        ("es-419", None),
        (None, None),
        ("", None),
    ],
)
def test_locale_hints(locale: str | None, code: str | None) -> None:
    assert region_for_locale(locale) == code


def test_every_locale_hint_names_a_shipped_region() -> None:
    directory = parse_directory(DATA.read_text(encoding="utf-8"))
    for code in LOCALE_REGIONS.values():
        assert directory.get(code) is not None, code
