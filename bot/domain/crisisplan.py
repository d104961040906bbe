"""A personal crisis plan in the structure of the Stanley–Brown safety plan, in the member's
own words.

Seven sections in two parts, because a Discord form holds at most five fields; each part
is saved on its own. Every section may be left empty. Pure: nothing here touches Discord,
storage or the clock, and nothing here screens or logs what the member wrote (a plan is
expected to contain hard words).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.crisis import Contact, Region
from bot.errors import ValidationError

SECTION_MAX = 1000  # characters per section: one embed field (1,024) holds it whole


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: str  # as shown in the plan and the file
    label: str  # the form field's label (at most 45 characters)
    placeholder: str  # at most 100 characters


SECTIONS: tuple[Section, ...] = (
    Section(
        "warning_signs",
        "1. Warning signs",
        "Warning signs",
        "Thoughts, moods or situations that tell me a crisis may be coming",
    ),
    Section(
        "coping",
        "2. Things I can do on my own",
        "Things I can do on my own",
        "Ways to take my mind off things without contacting anyone",
    ),
    Section(
        "distractions",
        "3. People and places that take my mind off things",
        "People and places that distract me",
        "Who I can be with, and places I can go, to feel a bit better",
    ),
    Section(
        "helpers",
        "4. People I can ask for help",
        "People I can ask for help",
        "Names and how to reach them",
    ),
    Section(
        "professionals",
        "5. Professionals and lines I can contact",
        "Professionals and lines",
        "My doctor or counsellor, and crisis lines for my region",
    ),
    Section(
        "safer",
        "6. Making my surroundings safer",
        "Making my surroundings safer",
        "Steps that make where I am safer for me",
    ),
    Section(
        "reasons",
        "7. My reasons to keep going",
        "My reasons to keep going",
        "People, hopes and things that matter to me",
    ),
)
SECTION_KEYS = tuple(section.key for section in SECTIONS)
# The two forms: four sections, then three.
PARTS: Mapping[int, tuple[str, ...]] = {1: SECTION_KEYS[:4], 2: SECTION_KEYS[4:]}
EDIT_EXAMPLE = "/crisisplan edit part:1, then write a few words in any section (all are optional)"


@dataclass(frozen=True)
class CrisisPlan:
    user_id: int
    sections: Mapping[str, str] = field(default_factory=dict)
    updated_at: datetime | None = None

    def get(self, key: str) -> str:
        return self.sections.get(key, "")

    @property
    def is_empty(self) -> bool:
        return not any(text.strip() for text in self.sections.values())


def section(key: str) -> Section:
    return next(s for s in SECTIONS if s.key == key)


def clean_part(part: int, values: Mapping[str, str | None]) -> dict[str, str]:
    """One form's sections, stripped; empty sections are fine. ValidationError names the
    first section over the limit (a client can send more than the form allows)."""
    if part not in PARTS:
        raise ValidationError("A crisis plan has two parts: 1 and 2.", EDIT_EXAMPLE)
    cleaned: dict[str, str] = {}
    for key in PARTS[part]:
        text = (values.get(key) or "").replace("\r\n", "\n").strip()
        if len(text) > SECTION_MAX:
            raise ValidationError(
                f"“{section(key).label}” is {len(text):,} characters; each section holds up to "
                f"{SECTION_MAX:,}. Nothing was saved: shorten it and save again.",
                EDIT_EXAMPLE,
            )
        cleaned[key] = text
    return cleaned


def encode_part(values: Mapping[str, str]) -> str:
    """The stored form of one part (encrypted by the repository)."""
    return json.dumps(dict(values), ensure_ascii=False, sort_keys=True)


def decode_parts(parts: Iterable[str | None]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for text in parts:
        if not text:
            continue
        data = json.loads(text)
        if isinstance(data, dict):
            merged.update({k: str(v) for k, v in data.items() if k in SECTION_KEYS})
    return merged


def _contact_text(contact: Contact) -> str:
    if contact.method == "call":
        text = f"call {contact.value}"
    elif contact.method == "text":
        text = (
            f"text {contact.keyword} to {contact.value}"
            if contact.keyword
            else f"text {contact.value}"
        )
    else:
        text = contact.value
    return f"{text} ({contact.note})" if contact.note else text


def professionals_prefill(region: Region) -> str:
    """Lines for the member's region, to start section 5 with (they can change it all)."""
    rows = [f"Emergency: {' or '.join(region.emergency)}"]
    for line in region.lines:
        contacts = ", ".join(_contact_text(c) for c in line.contacts)
        rows.append(f"{line.name}: {contacts} ({line.hours})")
    text = ""
    for row in rows:
        candidate = f"{text}\n{row}" if text else row
        if len(candidate) > SECTION_MAX:
            break
        text = candidate
    return text


def plan_text(plan: CrisisPlan, *, heading: str = "My crisis plan") -> str:
    """The whole plan as plain text, to keep on a phone; empty sections say so."""
    blocks = [heading, "=" * len(heading), ""]
    for entry in SECTIONS:
        body = plan.get(entry.key).strip() or "(nothing written yet)"
        blocks += [entry.title, body, ""]
    blocks.append(
        "If you are in immediate danger, call your local emergency number. "
        "/crisis in Discord shows lines you can reach now."
    )
    return "\n".join(blocks) + "\n"
