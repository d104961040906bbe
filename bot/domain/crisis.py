"""Crisis lines: the shipped directory (``data/crisis_resources.toml``), region lookup,
autocomplete, and validation of a server's own local resources.

Pure: :func:`parse_directory` takes the file's text (the caller reads it), nothing here
touches Discord, storage or the clock.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, cast
from urllib.parse import urlsplit

from bot.errors import ValidationError

ContactMethod = Literal["call", "text", "chat", "web"]
CONTACT_METHODS: frozenset[str] = frozenset({"call", "text", "chat", "web"})
LINE_TAGS: frozenset[str] = frozenset(
    {"general", "youth", "lgbtq", "veterans", "substance-use", "text"}
)
INTL_CODE = "INTL"

# A phone number as people dial it: digits, single spaces or hyphens between them,
# an optional leading +; 3 to 15 digits (E.164 allows at most 15).
_PHONE_RE = re.compile(r"^\+?\d(?:[ \-]?\d)*$")
_KEYWORD_RE = re.compile(r"^[A-Z0-9]{1,20}$")
_CODE_RE = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True, slots=True)
class Contact:
    """One way to reach a line. ``keyword`` is the word to text (``HOME`` to 741741);
    ``note`` a short extra step ("then press 1")."""

    method: ContactMethod
    value: str
    keyword: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class CrisisLine:
    name: str
    tags: tuple[str, ...]
    contacts: tuple[Contact, ...]
    hours: str
    source: str
    verified_at: date
    languages: tuple[str, ...] = ()
    about: str | None = None

    @property
    def is_general(self) -> bool:
        """For anyone (as opposed to a line for a particular group)."""
        return "general" in self.tags


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str
    aliases: tuple[str, ...]
    emergency: tuple[str, ...]
    lines: tuple[CrisisLine, ...]
    emergency_note: str | None = None

    @property
    def general_lines(self) -> tuple[CrisisLine, ...]:
        return tuple(line for line in self.lines if line.is_general)

    @property
    def specialised_lines(self) -> tuple[CrisisLine, ...]:
        return tuple(line for line in self.lines if not line.is_general)


@dataclass(frozen=True, slots=True)
class LocalResource:
    """A resource a server's facilitators added (already validated)."""

    name: str
    how: str
    url: str | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class RegionLookup:
    """The region to show. ``matched`` is False when the query was empty or unknown
    (the fallback region is shown); ``hint`` is set only for an unknown query."""

    region: Region
    matched: bool
    query: str | None = None
    hint: str | None = None
    international_directory: str = "https://findahelpline.com"


def normalise_region_key(text: str) -> str:
    """Case-, accent-, space- and punctuation-insensitive key: "U.K." -> "uk",
    "the United Kingdom" -> "unitedkingdom", "Éire" -> "eire"."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = re.findall(r"[^\W_]+", stripped.casefold())
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    return "".join(words)


@dataclass(frozen=True)
class CrisisDirectory:
    regions: tuple[Region, ...]
    international_directory: str
    default_code: str = INTL_CODE
    _index: Mapping[str, Region] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, Region] = {}
        for region in self.regions:
            for label in (region.code, region.name, *region.aliases):
                key = normalise_region_key(label)
                if not key:
                    raise ValueError(f"region {region.code}: alias {label!r} has no letters")
                other = index.get(key)
                if other is not None and other.code != region.code:
                    raise ValueError(
                        f"region {region.code}: {label!r} is already used by {other.code}"
                    )
                index[key] = region
        if normalise_region_key(self.default_code) not in index:
            raise ValueError(f"default region {self.default_code!r} is not in the directory")
        object.__setattr__(self, "_index", index)

    @property
    def fallback(self) -> Region:
        return self._index[normalise_region_key(self.default_code)]

    def get(self, code: str) -> Region | None:
        """The region with exactly this code (any case), or None."""
        wanted = code.strip().upper()
        return next((region for region in self.regions if region.code == wanted), None)

    def lookup(self, query: str | None) -> RegionLookup:
        """Code, name or alias in any case/punctuation -> that region. Empty or None ->
        the fallback, unmatched, no hint. Unknown -> the fallback, unmatched, with a hint."""
        if query is None or not normalise_region_key(query):
            return RegionLookup(
                region=self.fallback,
                matched=False,
                international_directory=self.international_directory,
            )
        region = self._index.get(normalise_region_key(query))
        if region is not None:
            return RegionLookup(
                region=region,
                matched=True,
                query=query,
                international_directory=self.international_directory,
            )
        return RegionLookup(
            region=self.fallback,
            matched=False,
            query=query,
            hint=self._hint(query),
            international_directory=self.international_directory,
        )

    def _hint(self, query: str) -> str:
        shown = re.sub(r"[^\w .'\-]", "", query, flags=re.UNICODE).strip()[:40]
        codes = ", ".join(r.code for r in self.regions if r.code != self.default_code)
        about = f"“{shown}” isn't" if shown else "That region isn't"
        return (
            f"{about} in Circlekeeper's list yet, so here are international options. "
            f"Regions with their own lines: {codes}."
        )

    def autocomplete(self, current: str, limit: int = 25) -> list[tuple[str, str]]:
        """Choices as (display name, code), best first: code matches, then names and
        aliases starting with what was typed, then names/aliases containing it."""
        limit = max(0, min(limit, 25))
        typed = normalise_region_key(current)
        if not typed:  # nothing typed: International first, then the file's order (most asked)
            first = [self.fallback, *(r for r in self.regions if r is not self.fallback)]
            return [(f"{r.name} ({r.code})", r.code) for r in first][:limit]
        ranked: list[tuple[int, str, Region]] = []
        for region in self.regions:
            rank = _autocomplete_rank(region, typed)
            if rank is not None:
                ranked.append((rank, region.name.casefold(), region))
        ranked.sort(key=lambda item: (item[0], item[2].code == self.default_code, item[1]))
        return [(f"{region.name} ({region.code})", region.code) for _, _, region in ranked][:limit]


def _autocomplete_rank(region: Region, typed: str) -> int | None:
    if not typed:
        return 3
    code = normalise_region_key(region.code)
    names = [normalise_region_key(region.name)]
    aliases = [normalise_region_key(alias) for alias in region.aliases]
    if typed == code:
        return 0
    if any(name.startswith(typed) for name in names) or code.startswith(typed):
        return 1
    if any(alias.startswith(typed) for alias in aliases):
        return 2
    if len(typed) >= 3 and any(typed in label for label in (*names, *aliases)):
        return 4
    return None


# --- a member's Discord locale as a hint ----------------------------------------------

# Discord's client languages that point to one country with its own lines. English and
# Latin-American Spanish are spoken in too many places to guess (en-US is many people's
# default whatever their country), so they give no hint and the international card shows.
LOCALE_REGIONS: Mapping[str, str] = {
    "pt-BR": "BR",
    "es-ES": "ES",
    "ja": "JP",
    "ko": "KR",
    "pl": "PL",
    "nl": "NL",
    "sv-SE": "SE",
    "no": "NO",
    "fi": "FI",
    "it": "IT",
    "de": "DE",
    "fr": "FR",
    "hi": "IN",
}


def region_for_locale(locale: str | None) -> str | None:
    """The region code a Discord locale hints at ("pt-BR" -> "BR"), or None."""
    if not locale:
        return None
    return LOCALE_REGIONS.get(locale.strip())


# --- parsing -------------------------------------------------------------------------


def parse_directory(toml_text: str) -> CrisisDirectory:
    """Parse and validate the shipped crisis-resources TOML. Raises ValueError naming
    the region and line on any bad entry."""
    try:
        raw = tomllib.loads(toml_text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"crisis resources: not valid TOML: {exc}") from exc
    if raw.get("schema") != 1:
        raise ValueError("crisis resources: expected schema = 1")
    directory_url = _require_str(raw, "international_directory", "crisis resources")
    _check_url(directory_url, "crisis resources: international_directory")
    default_code = _require_str(raw, "default_region", "crisis resources")
    raw_regions = raw.get("regions")
    if not isinstance(raw_regions, list) or not raw_regions:
        raise ValueError("crisis resources: no [[regions]]")
    regions: list[Region] = []
    seen: set[str] = set()
    for position, raw_region in enumerate(raw_regions, start=1):
        region = _parse_region(raw_region, position)
        if region.code in seen:
            raise ValueError(f"region {region.code}: listed twice")
        seen.add(region.code)
        regions.append(region)
    return CrisisDirectory(
        regions=tuple(regions), international_directory=directory_url, default_code=default_code
    )


def _parse_region(raw: Any, position: int) -> Region:
    if not isinstance(raw, dict):
        raise ValueError(f"region #{position}: not a table")
    where = f"region #{position}"
    code = _require_str(raw, "code", where)
    where = f"region {code}"
    if code != INTL_CODE and not _CODE_RE.match(code):
        raise ValueError(f"{where}: code must be two capital letters (ISO 3166-1) or INTL")
    name = _require_str(raw, "name", where)
    aliases = _str_list(raw, "aliases", where, required=False)
    emergency = _str_list(raw, "emergency", where, required=True)
    for number in emergency:
        if not _is_phone(number, min_digits=2):
            raise ValueError(f"{where}: emergency number {number!r} is not a phone number")
    note = _optional_str(raw, "emergency_note", where)
    raw_lines = raw.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise ValueError(f"{where}: has no [[regions.lines]]")
    lines = tuple(_parse_line(item, where, n) for n, item in enumerate(raw_lines, start=1))
    if not any(line.is_general for line in lines):
        raise ValueError(f"{where}: needs at least one line tagged 'general'")
    return Region(
        code=code,
        name=name,
        aliases=aliases,
        emergency=emergency,
        lines=lines,
        emergency_note=note,
    )


def _parse_line(raw: Any, region_where: str, position: int) -> CrisisLine:
    if not isinstance(raw, dict):
        raise ValueError(f"{region_where}, line #{position}: not a table")
    name = _require_str(raw, "name", f"{region_where}, line #{position}")
    where = f"{region_where}, line {name!r}"
    tags = _str_list(raw, "tags", where, required=True)
    unknown = sorted(set(tags) - LINE_TAGS)
    if unknown:
        raise ValueError(f"{where}: unknown tags {unknown} (allowed: {sorted(LINE_TAGS)})")
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ValueError(
            f"{where}: missing 'source' (the organisation's page it was checked against)"
        )
    _check_url(source, f"{where}: source")
    verified_at = raw.get("verified_at")
    if isinstance(verified_at, datetime) or not isinstance(verified_at, date):
        raise ValueError(f"{where}: 'verified_at' must be a date like 2026-11-21")
    hours = _require_str(raw, "hours", where)
    raw_contacts = raw.get("contacts")
    if not isinstance(raw_contacts, list) or not raw_contacts:
        raise ValueError(f"{where}: has no contacts")
    contacts = tuple(_parse_contact(item, where) for item in raw_contacts)
    return CrisisLine(
        name=name,
        tags=tags,
        contacts=contacts,
        hours=hours,
        source=source,
        verified_at=verified_at,
        languages=_str_list(raw, "languages", where, required=False),
        about=_optional_str(raw, "about", where),
    )


def _parse_contact(raw: Any, where: str) -> Contact:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: a contact is not a table")
    method = raw.get("method")
    if method not in CONTACT_METHODS:
        raise ValueError(
            f"{where}: contact method {method!r} is not one of {sorted(CONTACT_METHODS)}"
        )
    value = _require_str(raw, "value", where)
    keyword = _optional_str(raw, "keyword", where)
    note = _optional_str(raw, "note", where)
    if method in ("call", "text"):
        if not _is_phone(value):
            raise ValueError(
                f"{where}: {method} value {value!r} is not a phone number or shortcode"
            )
        if method == "call" and keyword is not None:
            raise ValueError(f"{where}: a call contact cannot have a keyword")
        if keyword is not None and not _KEYWORD_RE.match(keyword):
            raise ValueError(
                f"{where}: text keyword {keyword!r} must be capitals/digits, no spaces"
            )
    else:
        if keyword is not None:
            raise ValueError(f"{where}: a {method} contact cannot have a keyword")
        _check_url(value, f"{where}: {method} contact")
    return Contact(method=cast(ContactMethod, method), value=value, keyword=keyword, note=note)


def _is_phone(value: str, *, min_digits: int = 3) -> bool:
    """Well formed as dialled: digits with single spaces/hyphens, optional leading +,
    ``min_digits`` to 15 digits (emergency numbers can be two digits, e.g. 15 in France)."""
    if not _PHONE_RE.match(value):
        return False
    digits = sum(ch.isdigit() for ch in value)
    return min_digits <= digits <= 15


def _check_url(value: str, where: str) -> None:
    if not _is_web_url(value, schemes=("https",)):
        raise ValueError(f"{where}: {value!r} must be an https URL")


def _is_web_url(value: str, *, schemes: tuple[str, ...]) -> bool:
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return False
    return (
        parts.scheme.lower() in schemes
        and bool(host)
        and not any(ch.isspace() or ch in "<>\"'`" for ch in value)
    )


is_web_url = _is_web_url  # also used for the links members add to /resources


def _require_str(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: missing or empty {key!r}")
    return value.strip()


def _optional_str(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    if key not in raw:
        return None
    return _require_str(raw, key, where)


def _str_list(raw: Mapping[str, Any], key: str, where: str, *, required: bool) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None and not required:
        return ()
    if (
        not isinstance(value, list)
        or (required and not value)
        or not all(isinstance(item, str) and item.strip() for item in value)
    ):
        raise ValueError(f"{where}: {key!r} must be a list of non-empty strings")
    return tuple(item.strip() for item in value)


# --- a server's own resources ----------------------------------------------------------

LOCAL_NAME_MAX = 80
LOCAL_HOW_MAX = 200
LOCAL_URL_MAX = 300
LOCAL_NOTES_MAX = 300
LOCAL_EXAMPLE = (
    '/facilitate crisis add name:"Riverside Warmline" how:"call 555-0100, 5pm–11pm" '
    "url:https://example.org"
)
_MENTION_RE = re.compile(r"@(?:everyone|here)|<@[!&]?\d+>", re.IGNORECASE)


def validate_local_resource(
    name: str, how: str, url: str | None = None, notes: str | None = None
) -> LocalResource:
    """A facilitator-added resource, stripped and checked; ValidationError on refusal."""
    name = " ".join((name or "").split())
    how = (how or "").strip()
    url = (url or "").strip() or None
    notes = (notes or "").strip() or None
    for label, text in (("name", name), ("how", how), ("url", url), ("notes", notes)):
        if text and _MENTION_RE.search(text):
            raise ValidationError(
                f"The {label} can't contain @everyone, @here, or role or member mentions.",
                LOCAL_EXAMPLE,
            )
    if not name:
        raise ValidationError("Give the resource a name.", LOCAL_EXAMPLE)
    if len(name) > LOCAL_NAME_MAX:
        raise ValidationError(
            f"The name is {len(name)} characters; keep it to {LOCAL_NAME_MAX}.", LOCAL_EXAMPLE
        )
    if not how:
        raise ValidationError(
            "Say how to reach it (a number to call or text, hours).", LOCAL_EXAMPLE
        )
    if len(how) > LOCAL_HOW_MAX:
        raise ValidationError(
            f"'how' is {len(how)} characters; keep it to {LOCAL_HOW_MAX}.", LOCAL_EXAMPLE
        )
    if notes is not None and len(notes) > LOCAL_NOTES_MAX:
        raise ValidationError(
            f"The notes are {len(notes)} characters; keep them to {LOCAL_NOTES_MAX}.",
            LOCAL_EXAMPLE,
        )
    if url is not None:
        if len(url) > LOCAL_URL_MAX:
            raise ValidationError(
                f"The link is {len(url)} characters; keep it to {LOCAL_URL_MAX}.", LOCAL_EXAMPLE
            )
        if not _is_web_url(url, schemes=("http", "https")):
            raise ValidationError(
                "The link must be a web address starting with https:// (or http://).",
                LOCAL_EXAMPLE,
            )
    return LocalResource(name=name, how=how, url=url, notes=notes)


def region_codes(directory: CrisisDirectory) -> Sequence[str]:
    """Every region code, in file order (for docs and settings validation)."""
    return tuple(region.code for region in directory.regions)
