"""Crisis lines, rendered: calm, short, actionable, and always inside Discord's limits.

Layout (one embed unless fields overflow 25):
- title "Reach a person now — <region>";
- description: the optional gentle sentence, then the immediate-danger line, then the
  hint for an unknown region;
- one field per shipped line (general lines first, then specialised ones), each with
  how to reach it and the date it was checked;
- "Another country?" with the international directory;
- "From this server" and the server's own resources, shortened to fit if needed;
- footer: peer support, not a crisis service; and, when the server has support alerts
  on, what facilitators may see.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

import discord

from bot.domain.crisis import (
    INTL_CODE,
    Contact,
    CrisisLine,
    LocalResource,
    Region,
    RegionLookup,
)

GENTLE_SCREENING_INTRO = (
    "It sounds like things might be really heavy right now. You don't have to carry it "
    "alone: the people below are there to listen, any time, and reaching out is a good step."
)
PEER_SUPPORT_NOTE = (
    "Circlekeeper and this circle are peer support, not a crisis service, "
    "and are not monitored around the clock."
)
ALERTS_NOTE = (
    "This server has support alerts on: its facilitators may get a private note that "
    "a member may want support, never what was written."
)
FROM_THIS_SERVER = "From this server"
FROM_THIS_SERVER_NOTE = "Added by this server's facilitators; not checked by Circlekeeper."
CALM_COLOUR = discord.Colour(0x4A9A8C)

TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
TOTAL_MAX = 6000
EMBEDS_MAX = 10
LOCAL_SHOWN_MAX = 20
_MORE_RESERVE = len("\n…and 99 more from this server.")
_NOTES_MIN = 24


def crisis_embeds(
    lookup: RegionLookup,
    local: Sequence[LocalResource] = (),
    *,
    alerts_enabled: bool = False,
    gentle_intro: str | None = None,
    also: Region | None = None,
) -> list[discord.Embed]:
    """The embeds for one message showing where to reach a person now.

    ``also``: a second region whose lines follow the first's (the international card
    carries the US lines, so the default card always names a line to call now)."""
    region = lookup.region
    title = _clip(f"Reach a person now — {region.name}", TITLE_MAX)

    description_parts: list[str] = []
    if gentle_intro:
        description_parts.append(gentle_intro.strip())
    description_parts.append(f"**{danger_line(lookup)}**")
    if not lookup.matched and lookup.hint:
        description_parts.append(lookup.hint)
    description = _clip("\n\n".join(description_parts), DESCRIPTION_MAX)

    fields: list[tuple[str, str]] = []
    for line in (*region.general_lines, *region.specialised_lines):
        fields.append((_clip(line.name, FIELD_NAME_MAX), _clip(line_text(line), FIELD_VALUE_MAX)))
    if also is not None and also.code != region.code:
        fields.append(
            (
                _clip(f"{also.name} ({also.code})", FIELD_NAME_MAX),
                _clip(_danger_text(also), FIELD_VALUE_MAX),
            )
        )
        for line in (*also.general_lines, *also.specialised_lines):
            fields.append(
                (_clip(line.name, FIELD_NAME_MAX), _clip(line_text(line), FIELD_VALUE_MAX))
            )
    if region.code != INTL_CODE:
        fields.append(
            (
                "Another country?",
                f"[Find A Helpline]({lookup.international_directory}) lists free, "
                "confidential helplines by country.",
            )
        )

    footer = PEER_SUPPORT_NOTE + (f"\n{ALERTS_NOTE}" if alerts_enabled else "")
    footer = _clip(footer, FOOTER_MAX)

    if local:
        used = len(title) + len(description) + len(footer)
        used += sum(len(name) + len(value) for name, value in fields)
        fields.extend(_local_fields(local, budget=TOTAL_MAX - used))

    return _assemble(title, description, fields, footer)


def danger_line(lookup: RegionLookup) -> str:
    return _danger_text(lookup.region)


def _danger_text(region: Region) -> str:
    if region.emergency_note:
        return region.emergency_note
    numbers = " or ".join(region.emergency)
    return f"If you are in immediate danger, call {numbers}."


def line_text(line: CrisisLine) -> str:
    """How to reach a line, who it is for, when, and when it was checked."""
    how = " · ".join(contact_text(contact) for contact in line.contacts)
    details = [part for part in (line.about, line.hours) if part]
    if line.languages:
        details.append(", ".join(line.languages))
    details.append(f"checked {line.verified_at.isoformat()}")
    return f"{how}\n{' · '.join(details)}"


def contact_text(contact: Contact) -> str:
    if contact.method == "call":
        text = f"Call **{contact.value}**"
    elif contact.method == "text":
        text = (
            f"Text **{contact.keyword}** to **{contact.value}**"
            if contact.keyword
            else f"Text **{contact.value}**"
        )
    elif contact.method == "chat":
        text = f"[Chat at {_host(contact.value)}]({contact.value})"
    else:
        text = f"[{_host(contact.value)}]({contact.value})"
    return f"{text}, {contact.note}" if contact.note else text


def _host(url: str) -> str:
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def _local_fields(local: Sequence[LocalResource], *, budget: int) -> list[tuple[str, str]]:
    """The "From this server" header and one field per resource, fitted into ``budget``
    characters: every shown resource keeps its name and how to reach it; links and
    notes are added in order while room remains; resources that do not fit at all are
    counted in "…and N more"."""
    header_value = FROM_THIS_SERVER_NOTE
    budget -= len(FROM_THIS_SERVER) + len(header_value) + _MORE_RESERVE

    shown: list[tuple[str, str, LocalResource]] = []
    for resource in local[:LOCAL_SHOWN_MAX]:
        name = _clip(resource.name.strip() or "Local resource", FIELD_NAME_MAX)
        how = _clip(resource.how.strip() or "-", FIELD_VALUE_MAX)
        cost = len(name) + len(how)
        if cost > budget:
            break
        budget -= cost
        shown.append((name, how, resource))

    fields: list[tuple[str, str]] = []
    for name, how, resource in shown:
        value = how
        if resource.url:
            addition = f"\n{resource.url}"
            if len(addition) <= budget and len(value) + len(addition) <= FIELD_VALUE_MAX:
                value += addition
                budget -= len(addition)
        if resource.notes:
            room = min(budget, FIELD_VALUE_MAX - len(value)) - 1
            notes = resource.notes.strip()
            if room >= len(notes):
                addition = f"\n{notes}"
            elif room >= _NOTES_MIN:
                addition = f"\n{notes[: room - 1].rstrip()}…"
            else:
                addition = ""
            value += addition
            budget -= len(addition)
        fields.append((name, value))

    hidden = len(local) - len(shown)
    if hidden:
        header_value += f"\n…and {hidden} more from this server."
    return [(FROM_THIS_SERVER, header_value), *fields]


def _assemble(
    title: str, description: str, fields: Sequence[tuple[str, str]], footer: str
) -> list[discord.Embed]:
    embeds = [discord.Embed(title=title, description=description, colour=CALM_COLOUR)]
    for name, value in fields:
        if len(embeds[-1].fields) >= FIELDS_MAX:
            if len(embeds) >= EMBEDS_MAX:
                break
            embeds.append(discord.Embed(colour=CALM_COLOUR))
        embeds[-1].add_field(name=name, value=value or "-", inline=False)
    embeds[-1].set_footer(text=footer)
    return embeds


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


LIST_DESCRIPTION_MAX = 4096


def local_list_embed(local: Sequence[LocalResource]) -> discord.Embed:
    """Every local resource on one line (name, how, link), each clipped to an equal share
    of the embed so ten full-length entries still fit Discord's limits."""
    share = LIST_DESCRIPTION_MAX // max(1, len(local)) - 1
    lines = []
    for r in local:
        line = (
            f"• **{discord.utils.escape_markdown(r.name)}**: {discord.utils.escape_markdown(r.how)}"
        )
        if r.url:
            line += f" · <{r.url}>"
        lines.append(line if len(line) <= share else line[: share - 1].rstrip() + "…")
    embed = discord.Embed(
        title=f"Local resources ({len(local)})",
        description="\n".join(lines),
        colour=CALM_COLOUR,
    )
    embed.set_footer(
        text="Shown after the shipped lines in /crisis. Remove one with /facilitate crisis remove."
    )
    return embed
