"""The shipped crisis directory: schema, formats, required entries, lookup, autocomplete,
and facilitator-added local resources."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.crisis import (
    INTL_CODE,
    LINE_TAGS,
    CrisisDirectory,
    LocalResource,
    parse_directory,
    validate_local_resource,
)
from bot.errors import ValidationError

DATA_FILE = Path(__file__).resolve().parents[2] / "data" / "crisis_resources.toml"
REQUIRED_REGIONS = {"US", "CA", "GB", "IE", "AU", "NZ", "IN", "DE", "FR", INTL_CODE}
# Added for issue 13 (where Discord's members are), each confirmed on 2026-11-22.
ADDED_REGIONS = {
    "BR", "MX", "ES", "NL", "PL", "SE", "NO", "FI", "JP", "KR", "PH", "ZA", "IT", "SG", "CH", "AT",
    "AR",
}  # fmt: skip
PHONE = re.compile(r"^\+?\d(?:[ \-]?\d)*$")
_DIRECTORY = parse_directory(DATA_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def directory() -> CrisisDirectory:
    return parse_directory(DATA_FILE.read_text(encoding="utf-8"))


def _all_lines(directory: CrisisDirectory):
    for region in directory.regions:
        for line in region.lines:
            yield region, line


# --- the shipped file ------------------------------------------------------------------


def test_shipped_file_has_a_header_comment_explaining_the_format() -> None:
    head = DATA_FILE.read_text(encoding="utf-8").splitlines()[:40]
    assert head[0].startswith("#")
    assert any("verified_at" in line for line in head)
    assert any("source" in line for line in head)


def test_every_required_region_is_present(directory: CrisisDirectory) -> None:
    assert {region.code for region in directory.regions} >= REQUIRED_REGIONS | ADDED_REGIONS
    assert len(directory.regions) >= 25


def test_region_codes_are_iso_alpha2_or_intl(directory: CrisisDirectory) -> None:
    for region in directory.regions:
        assert region.code == INTL_CODE or re.fullmatch(r"[A-Z]{2}", region.code)
        assert region.name and region.emergency
        assert region.general_lines, region.code


def test_every_line_has_source_and_date(directory: CrisisDirectory) -> None:
    for region, line in _all_lines(directory):
        assert line.source.startswith("https://"), (region.code, line.name)
        assert type(line.verified_at) is date, (region.code, line.name)
        assert date(2025, 1, 1) <= line.verified_at <= date(2026, 11, 22)
        assert line.hours
        assert set(line.tags) <= LINE_TAGS


def test_contact_formats(directory: CrisisDirectory) -> None:
    for region, line in _all_lines(directory):
        assert line.contacts, (region.code, line.name)
        for contact in line.contacts:
            where = (region.code, line.name, contact.value)
            if contact.method in ("call", "text"):
                assert PHONE.match(contact.value), where
                assert 3 <= sum(ch.isdigit() for ch in contact.value) <= 15, where
                if contact.keyword is not None:
                    assert re.fullmatch(r"[A-Z0-9]+", contact.keyword), where
            else:
                assert contact.value.startswith("https://"), where
    for region in directory.regions:
        for number in region.emergency:
            assert re.fullmatch(r"\d{2,5}", number), region.code  # 10111: South Africa


def _contacts(directory: CrisisDirectory, code: str) -> set[tuple[str, str, str | None]]:
    region = directory.get(code)
    assert region is not None
    return {(c.method, c.value, c.keyword) for line in region.lines for c in line.contacts}


def test_us_has_the_required_lines(directory: CrisisDirectory) -> None:
    us = _contacts(directory, "US")
    assert ("call", "988", None) in us
    assert ("text", "988", None) in us
    assert any(m == "chat" and "988lifeline.org" in v for m, v, _ in us)
    assert ("text", "838255", None) in us  # Veterans Crisis Line
    assert ("text", "741741", "HOME") in us  # Crisis Text Line
    assert ("call", "1-800-662-4357", None) in us  # SAMHSA
    assert ("call", "1-866-488-7386", None) in us  # Trevor Project
    assert ("call", "1-877-565-8860", None) in us  # Trans Lifeline
    region = directory.get("US")
    assert region is not None and region.emergency == ("911",)
    veterans = next(line for line in region.lines if "veterans" in line.tags)
    assert any(c.value == "988" and c.note and "1" in c.note for c in veterans.contacts)


@pytest.mark.parametrize(
    ("code", "method", "value", "keyword"),
    [
        ("CA", "call", "988", None),
        ("CA", "text", "686868", "CONNECT"),
        ("GB", "call", "116 123", None),
        ("GB", "text", "85258", "SHOUT"),
        ("IE", "call", "1800 247 247", None),
        ("IE", "text", "51444", "HELP"),
        ("AU", "call", "13 11 14", None),
        ("NZ", "text", "1737", None),
        ("IN", "call", "14416", None),
        ("DE", "call", "0800 111 0 111", None),
        ("FR", "call", "3114", None),
        ("BR", "call", "188", None),
        ("MX", "call", "800-911-2000", None),
        ("ES", "call", "024", None),
        ("NL", "call", "0800-0113", None),
        ("NL", "call", "113", None),
        ("PL", "call", "800 70 2222", None),
        ("SE", "call", "90101", None),
        ("NO", "call", "116 123", None),
        ("FI", "call", "09 2525 0111", None),
        ("JP", "call", "0120-279-338", None),
        ("KR", "call", "109", None),
        ("PH", "call", "1553", None),
        ("ZA", "call", "0800 567 567", None),
        ("ZA", "text", "31393", None),
        ("IT", "call", "02 2327 2327", None),
        ("SG", "call", "1767", None),
        ("CH", "call", "143", None),
        ("AT", "call", "142", None),
        ("AR", "call", "135", None),
    ],
)
def test_reference_entries(
    directory: CrisisDirectory, code: str, method: str, value: str, keyword: str | None
) -> None:
    assert (method, value, keyword) in _contacts(directory, code)


@pytest.mark.parametrize(
    ("code", "emergency"),
    [
        ("US", "911"),
        ("GB", "999"),
        ("IE", "112"),
        ("AU", "000"),
        ("NZ", "111"),
        ("FR", "112"),
        ("BR", "192"),
        ("MX", "911"),
        ("JP", "119"),
        ("KR", "119"),
        ("PH", "911"),
        ("ZA", "10111"),
        ("NO", "113"),
    ],
)
def test_emergency_numbers(directory: CrisisDirectory, code: str, emergency: str) -> None:
    region = directory.get(code)
    assert region is not None and emergency in region.emergency


def test_intl_points_to_the_directory(directory: CrisisDirectory) -> None:
    assert directory.fallback.code == INTL_CODE
    assert "112" in directory.fallback.emergency
    assert directory.international_directory == "https://findahelpline.com"


# --- schema validation -----------------------------------------------------------------

_HEAD = """
schema = 1
international_directory = "https://findahelpline.com"
default_region = "INTL"

[[regions]]
code = "INTL"
name = "International"
emergency = ["112"]
  [[regions.lines]]
  name = "Find A Helpline"
  tags = ["general"]
  contacts = [{ method = "web", value = "https://findahelpline.com" }]
  hours = "varies"
  source = "https://findahelpline.com"
  verified_at = 2026-11-21
"""
_XX = """
[[regions]]
code = "XX"
name = "Exampleland"
emergency = ["112"]
  [[regions.lines]]
  name = "Example Line"
  tags = ["general"]
  contacts = [{ method = "call", value = "0800 123 456" }]
  hours = "24/7"
  source = "https://example.org"
  verified_at = 2026-11-21
"""
_GOOD = _HEAD + _XX
_LINE = "region XX, line 'Example Line'"


def test_minimal_directory_parses() -> None:
    parsed = parse_directory(_GOOD)
    assert [r.code for r in parsed.regions] == ["INTL", "XX"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('  source = "https://example.org"\n', "", f"{_LINE}: missing 'source'"),
        ('source = "https://example.org"', 'source = "example.org"', f"{_LINE}: source"),
        ("  verified_at = 2026-11-21\n", "", f"{_LINE}: 'verified_at'"),
        ("verified_at = 2026-11-21", 'verified_at = "2026-11-21"', f"{_LINE}: 'verified_at'"),
        ('value = "0800 123 456"', 'value = "call us"', f"{_LINE}: call value 'call us'"),
        ('value = "0800 123 456"', 'value = "12"', f"{_LINE}: call value '12'"),
        ('value = "0800 123 456"', 'value = "0800--123"', f"{_LINE}: call value"),
        ('method = "call"', 'method = "fax"', f"{_LINE}: contact method 'fax'"),
        (
            '{ method = "call", value = "0800 123 456" }',
            '{ method = "text", value = "741741", keyword = "home now" }',
            f"{_LINE}: text keyword",
        ),
        (
            '{ method = "call", value = "0800 123 456" }',
            '{ method = "chat", value = "http://example.org" }',
            f"{_LINE}: chat contact",
        ),
        ('tags = ["general"]', 'tags = ["crisis"]', f"{_LINE}: unknown tags"),
        ('tags = ["general"]', 'tags = ["youth"]', "region XX: needs at least one line"),
        ('emergency = ["112"]', 'emergency = ["help"]', "region XX: emergency number"),
        ('code = "XX"', 'code = "Xx"', "region Xx: code"),
    ],
)
def test_bad_data_names_region_and_line(old: str, new: str, expected: str) -> None:
    assert old in _XX
    with pytest.raises(ValueError) as info:
        parse_directory(_HEAD + _XX.replace(old, new, 1))
    assert expected in str(info.value)


def test_missing_verified_at_names_the_line() -> None:
    broken = _GOOD.replace("  verified_at = 2026-11-21\n", "", 2)
    with pytest.raises(ValueError, match=r"region INTL, line 'Find A Helpline'.*verified_at"):
        parse_directory(broken)


def test_datetime_is_not_a_date() -> None:
    broken = _GOOD.replace("verified_at = 2026-11-21", "verified_at = 2026-11-21T10:00:00", 1)
    with pytest.raises(ValueError, match="verified_at"):
        parse_directory(broken)


def test_duplicate_alias_is_refused() -> None:
    broken = _GOOD.replace(
        'name = "Exampleland"', 'name = "Exampleland"\naliases = ["international"]'
    )
    with pytest.raises(ValueError, match="already used"):
        parse_directory(broken)


def test_invalid_toml_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="TOML"):
        parse_directory("schema = ")


# --- lookup ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("GB", "GB"),
        ("gb", "GB"),
        ("uk", "GB"),
        ("UK", "GB"),
        ("u.k.", "GB"),
        (" U.K ", "GB"),
        ("United Kingdom", "GB"),
        ("united   kingdom", "GB"),
        ("the UK", "GB"),
        ("Britain", "GB"),
        ("Scotland", "GB"),
        ("Northern Ireland", "GB"),
        ("Ireland", "IE"),
        ("eire", "IE"),
        ("Éire", "IE"),
        ("US", "US"),
        ("usa", "US"),
        ("U.S.A.", "US"),
        ("United States of America", "US"),
        ("canada", "CA"),
        ("Québec", "CA"),
        ("QUEBEC", "CA"),
        ("au", "AU"),
        ("Aotearoa", "NZ"),
        ("new-zealand", "NZ"),
        ("india", "IN"),
        ("Deutschland", "DE"),
        ("france", "FR"),
        ("INTL", "INTL"),
        ("worldwide", "INTL"),
        ("Brasil", "BR"),
        ("méxico", "MX"),
        ("España", "ES"),
        ("Holland", "NL"),
        ("Polska", "PL"),
        ("Sverige", "SE"),
        ("Norge", "NO"),
        ("Suomi", "FI"),
        ("日本", "JP"),
        ("Korea", "KR"),
        ("Pilipinas", "PH"),
        ("RSA", "ZA"),
        ("Italia", "IT"),
        ("Schweiz", "CH"),
        ("Österreich", "AT"),
        ("Argentina", "AR"),
    ],
)
def test_lookup_spellings(directory: CrisisDirectory, query: str, code: str) -> None:
    result = directory.lookup(query)
    assert result.region.code == code
    assert result.matched is True
    assert result.hint is None


@pytest.mark.parametrize("query", ["Atlantis", "xx", "Narnia!", "12345", "<@&123>"])
def test_unknown_region_falls_back_with_hint(directory: CrisisDirectory, query: str) -> None:
    result = directory.lookup(query)
    assert result.region.code == INTL_CODE
    assert result.matched is False
    assert result.hint is not None
    for code in ("US", "GB", "CA"):
        assert code in result.hint
    assert "<@" not in result.hint


@pytest.mark.parametrize("query", [None, "", "   ", "..."])
def test_no_query_gives_the_default_without_hint(
    directory: CrisisDirectory, query: str | None
) -> None:
    result = directory.lookup(query)
    assert result.region.code == INTL_CODE
    assert result.matched is False
    assert result.hint is None


@given(st.text(max_size=300))
def test_lookup_never_raises(query: str) -> None:
    result = _DIRECTORY.lookup(query)
    assert result.region in _DIRECTORY.regions
    if result.hint is not None:
        assert len(result.hint) < 400


# --- autocomplete ----------------------------------------------------------------------


def test_autocomplete_empty_lists_international_first_then_the_files_order(
    directory: CrisisDirectory,
) -> None:
    choices = directory.autocomplete("")
    assert len(choices) == min(25, len(directory.regions))
    assert choices[0][1] == INTL_CODE
    assert [code for _, code in choices[1:4]] == ["US", "CA", "GB"]
    assert {code for _, code in choices} >= REQUIRED_REGIONS
    assert directory.autocomplete("intern")[0][1] == INTL_CODE
    assert all(len(name) <= 100 and len(code) <= 100 for name, code in choices)


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("gb", "GB"),
        ("uk", "GB"),
        ("unit", "GB"),
        ("ger", "DE"),
        ("deu", "DE"),
        ("ire", "IE"),
        ("fr", "FR"),
        ("in", "IN"),
    ],
)
def test_autocomplete_best_first(directory: CrisisDirectory, typed: str, first: str) -> None:
    choices = directory.autocomplete(typed)
    assert choices and choices[0][1] == first


def test_autocomplete_limit_and_no_match(directory: CrisisDirectory) -> None:
    assert len(directory.autocomplete("", limit=3)) == 3
    assert len(directory.autocomplete("", limit=100)) <= 25
    assert directory.autocomplete("zzzz") == []


@given(st.text(max_size=100))
def test_autocomplete_never_raises(typed: str) -> None:
    choices = _DIRECTORY.autocomplete(typed)
    assert len(choices) <= 25
    assert {code for _, code in choices} <= {r.code for r in _DIRECTORY.regions}


# --- local resources -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("Riverside Warmline", "call 555-0100, 5pm–11pm", "https://example.org", None),
            LocalResource("Riverside Warmline", "call 555-0100, 5pm–11pm", "https://example.org"),
        ),
        (
            ("  Campus   Counselling ", "  walk in, Mon–Fri  ", "", "  "),
            LocalResource("Campus Counselling", "walk in, Mon–Fri"),
        ),
        (
            ("N" * 80, "h" * 200, "http://example.org/" + "a" * 281, "n" * 300),
            LocalResource("N" * 80, "h" * 200, "http://example.org/" + "a" * 281, "n" * 300),
        ),
        (
            ("A", "b", None, "email help@example.org"),
            LocalResource("A", "b", None, "email help@example.org"),
        ),
    ],
)
def test_local_resource_good(
    args: tuple[str, str, str | None, str | None], expected: LocalResource
) -> None:
    assert validate_local_resource(*args) == expected


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("", "call 555", None, None), "name"),
        (("   ", "call 555", None, None), "name"),
        (("N" * 81, "call 555", None, None), "80"),
        (("Line", "", None, None), "how"),
        (("Line", "h" * 201, None, None), "200"),
        (("Line", "call", None, "n" * 301), "300"),
        (("Line", "call", "https://example.org/" + "a" * 281, None), "300"),
        (("Line", "call", "ftp://example.org", None), "https://"),
        (("Line", "call", "javascript:alert(1)", None), "https://"),
        (("Line", "call", "https://", None), "https://"),
        (("Line", "call", "example.org", None), "https://"),
        (("Line", "call", "https://exa mple.org", None), "https://"),
        (("Line", "call", "http://[::1", None), "https://"),
        (("@everyone line", "call", None, None), "@everyone"),
        (("Line", "ping @here now", None, None), "@here"),
        (("Line", "call", None, "ask <@&123456789012345678>"), "mentions"),
        (("Line <@123456789012345678>", "call", None, None), "mentions"),
        (("Line", "call <@!123456789012345678>", None, None), "mentions"),
        (("Line", "call", "https://example.org/@EVERYONE", None), "@everyone"),
    ],
)
def test_local_resource_refused(
    args: tuple[str, str, str | None, str | None], fragment: str
) -> None:
    with pytest.raises(ValidationError) as info:
        validate_local_resource(*args)
    assert fragment in info.value.message
    assert info.value.example and "/facilitate crisis add" in info.value.example
    assert len(info.value.message) <= 120
