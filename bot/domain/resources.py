"""The circle's shared knowledge: free care, sliding-scale providers, medication help,
training, peer groups and coping ideas, added by members, with who added them and when.

Pure: the shipped starter set is parsed from text the caller reads; dates are passed in.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot.domain.crisis import CrisisDirectory, is_web_url
from bot.errors import ValidationError

NAME_MAX, OFFERS_MAX, URL_MAX, REGION_MAX, NOTES_MAX = 80, 300, 300, 40, 500
STALE_AFTER = timedelta(days=365)
ANY_REGION = "ANY"
_ANYWHERE = {"", "any", "anywhere", "online", "everywhere", "worldwide", "international"}
_MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d+>|<#\d+>", re.IGNORECASE)
ADD_EXAMPLE = "/resources add kind:sliding-scale, then: Riverside Clinic · sessions from $20 · https://example.org"


@dataclass(frozen=True, slots=True)
class Kind:
    key: str
    label: str


KINDS: tuple[Kind, ...] = (
    Kind("free-care", "Free care"),
    Kind("sliding-scale", "Sliding scale"),
    Kind("medication-help", "Medication help"),
    Kind("training", "Training"),
    Kind("peer-group", "Peer group"),
    Kind("coping-idea", "Coping idea"),
)
KIND_KEYS = tuple(kind.key for kind in KINDS)


def kind_label(key: str) -> str:
    return next((k.label for k in KINDS if k.key == key), key)


def parse_kind(text: str | None) -> str:
    key = (text or "").strip().casefold().replace(" ", "-")
    for kind in KINDS:
        if key in (kind.key, kind.label.casefold().replace(" ", "-")):
            return kind.key
    raise ValidationError(
        f"There's no kind by that name. Kinds: {', '.join(KIND_KEYS)}.", ADD_EXAMPLE
    )


@dataclass(frozen=True)
class Draft:
    """A member's entry, checked, before it is stored."""

    kind: str
    name: str
    offers: str
    url: str | None
    region: str
    notes: str | None


@dataclass(frozen=True)
class Resource:
    kind: str
    name: str
    offers: str
    url: str | None
    region: str
    notes: str | None
    added_on: date
    confirmed_on: date
    id: int | None = None  # None: from the shipped starter set
    author_id: int | None = None
    anonymous: bool = False
    approved: bool = True
    source: str | None = None  # the starter set's page

    @property
    def starter(self) -> bool:
        return self.id is None

    def possibly_outdated(self, today: date) -> bool:
        return today - self.confirmed_on > STALE_AFTER

    def text(self) -> str:
        """Everything a search looks through."""
        return " ".join(
            part
            for part in (
                self.name,
                self.offers,
                self.notes or "",
                self.url or "",
                self.kind,
                kind_label(self.kind),
                self.region,
            )
            if part
        ).casefold()


def _clean(label: str, text: str | None, limit: int, *, required: bool) -> str | None:
    value = " ".join((text or "").split()) if label != "notes" else (text or "").strip()
    if not value:
        if required:
            raise ValidationError(f"Give it a {label}. Nothing was saved.", ADD_EXAMPLE)
        return None
    if len(value) > limit:
        raise ValidationError(
            f"The {label} is {len(value):,} characters; it holds up to {limit:,}. Nothing was saved.",
            ADD_EXAMPLE,
        )
    if _MENTION.search(value):
        raise ValidationError(
            f"The {label} can't contain @everyone, @here or mentions. Nothing was saved.",
            ADD_EXAMPLE,
        )
    return value


def resolve_region(text: str | None, directory: CrisisDirectory) -> str:
    """A region as typed ("UK", "Brasil"), or "ANY" for empty/online/anywhere."""
    typed = (text or "").strip()
    if typed.casefold() in _ANYWHERE:
        return ANY_REGION
    lookup = directory.lookup(typed[:REGION_MAX])
    if not lookup.matched or lookup.region.code == "INTL":
        raise ValidationError(
            "I don't know that region. Use a country (UK, US, Brazil…), or leave it empty for "
            "anywhere/online. Nothing was saved.",
            "Region: UK",
        )
    return lookup.region.code


def validate_draft(
    kind: str,
    name: str | None,
    offers: str | None,
    url: str | None,
    region: str | None,
    notes: str | None,
    directory: CrisisDirectory,
) -> Draft:
    clean_name = _clean("name", name, NAME_MAX, required=True)
    clean_offers = _clean("description", offers, OFFERS_MAX, required=True)
    clean_url = _clean("link", url, URL_MAX, required=False)
    if clean_url is not None and not is_web_url(clean_url, schemes=("http", "https")):
        raise ValidationError(
            "A link must be a web address starting with https:// or http://. Nothing was saved.",
            "https://example.org",
        )
    assert clean_name is not None and clean_offers is not None
    return Draft(
        parse_kind(kind),
        clean_name,
        clean_offers,
        clean_url,
        resolve_region(region, directory),
        _clean("notes", notes, NOTES_MAX, required=False),
    )


def select(
    resources: Iterable[Resource], kind: str | None = None, region: str | None = None
) -> list[Resource]:
    """Those of a kind and region (entries for anywhere always count), by kind then name."""
    chosen = [
        r
        for r in resources
        if (kind is None or r.kind == kind) and (region is None or r.region in (region, ANY_REGION))
    ]
    return sorted(chosen, key=lambda r: (KIND_KEYS.index(r.kind), r.name.casefold()))


def search(resources: Iterable[Resource], words: str) -> list[Resource]:
    """Entries containing every word typed (any case), best first: name matches lead."""
    terms = [w for w in re.findall(r"[^\W_]+", words.casefold()) if w]
    if not terms:
        return []
    found = [r for r in resources if all(t in r.text() for t in terms)]
    return sorted(
        found, key=lambda r: (not all(t in r.name.casefold() for t in terms), r.name.casefold())
    )


# --- the shipped starter set -----------------------------------------------------------


def parse_starter(toml_text: str) -> tuple[Resource, ...]:
    raw = tomllib.loads(toml_text)
    if raw.get("schema") != 1:
        raise ValueError("resources starter: expected schema = 1")
    entries = raw.get("resources")
    if not isinstance(entries, list) or not entries:
        raise ValueError("resources starter: no [[resources]]")
    return tuple(_parse_entry(entry, n) for n, entry in enumerate(entries, start=1))


def _parse_entry(raw: Any, position: int) -> Resource:
    where = f"resource #{position}"
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: not a table")
    for key in ("kind", "name", "offers", "url", "region", "source"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ValueError(f"{where}: missing {key!r}")
    if raw["kind"] not in KIND_KEYS:
        raise ValueError(f"{where}: unknown kind {raw['kind']!r}")
    for key in ("url", "source"):
        if not is_web_url(raw[key], schemes=("https",)):
            raise ValueError(f"{where}: {key} must be an https URL")
    checked = raw.get("verified_at")
    if isinstance(checked, datetime) or not isinstance(checked, date):
        raise ValueError(f"{where}: 'verified_at' must be a date like 2026-11-22")
    return Resource(
        kind=raw["kind"],
        name=raw["name"],
        offers=raw["offers"],
        url=raw["url"],
        region=raw["region"],
        notes=None,
        added_on=checked,
        confirmed_on=checked,
        source=raw["source"],
    )


def newest_first(resources: Sequence[Resource]) -> list[Resource]:
    return sorted(resources, key=lambda r: (r.added_on, r.id or 0), reverse=True)
