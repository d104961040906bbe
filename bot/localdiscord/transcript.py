"""Structured record of what happened on the local server, in order.

Every driver action (a member runs a command, clicks, submits) and every bot effect
(callback, followup, message, DM, refused DM, thread, modal) becomes one `Event`.
Subscribers see events as they arrive, so the sandbox can print a live transcript and
`--record FILE` can write JSON lines.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from bot.localdiscord.state import Message, walk_components


@dataclass
class Event:
    kind: str  # command, click, select, submit, autocomplete, reply, followup, edit,
    # message, dm, dm_refused, thread, modal, choices, deleted, error
    actor: str  # who did it: a member's name or "bot"
    where: str  # "#channel", "DM with Sam", "thread 'name'"
    time: float = field(default_factory=time.time)
    target: str | None = None  # for bot replies: the member answered
    ephemeral: bool = False
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, default=str)


def summarize_embeds(embeds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the human-visible parts of embeds (title, description, fields, footer)."""
    out = []
    for e in embeds:
        item = {k: e[k] for k in ("title", "description") if e.get(k)}
        if e.get("fields"):
            item["fields"] = [{"name": f.get("name"), "value": f.get("value")} for f in e["fields"]]
        if e.get("footer", {}).get("text"):
            item["footer"] = e["footer"]["text"]
        out.append(item)
    return out


def component_labels(components: list[dict[str, Any]]) -> list[str]:
    labels = []
    for c in walk_components(components):
        if c.get("type") == 2:
            labels.append(f"[{c.get('label') or c.get('emoji', {}).get('name', '?')}]")
        elif c.get("type") in (3, 5, 6, 7, 8):
            labels.append(f"[▾ {c.get('placeholder') or c.get('custom_id', 'select')}]")
    return labels


def message_event(kind: str, msg: Message, *, where: str, target: str | None = None) -> Event:
    return Event(
        kind=kind,
        actor="bot",
        where=where,
        target=target,
        ephemeral=msg.ephemeral,
        content=msg.content,
        embeds=summarize_embeds(msg.embeds),
        components=component_labels(msg.components),
        files=[a.filename for a in msg.attachments],
        detail={"message_id": str(msg.id)},
    )


class Transcript:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self._subscribers: list[Callable[[Event], None]] = []

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call `callback` for every new event; returns an unsubscribe function."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def add(self, event: Event) -> Event:
        self.events.append(event)
        for callback in list(self._subscribers):
            callback(event)
        return event

    def write_jsonl(self, stream: IO[str]) -> None:
        for event in self.events:
            stream.write(event.to_json() + "\n")

    def render(self) -> str:
        return "\n".join(text for e in self.events if (text := render_event(e)))


QUIET = {"sync", "ack", "channel", "channel_update", "thread_member"}


def render_event(
    event: Event, names: Callable[[str], str] = str, seen: set[str] | None = None
) -> str | None:
    """One readable block for an event, or None when it is plumbing (or a loading state).

    Embeds already in `seen` (by their text) are shortened to their title."""
    if event.kind in QUIET:
        return None
    if event.actor != "bot":
        if event.kind == "autocomplete":
            return None
        place = "in a DM with the bot" if event.where.startswith("DM") else f"in {event.where}"
        return f"\n{event.actor} ▸ {names(event.content)}   ({place})"
    if event.kind == "reply" and event.detail.get("deferred"):
        return None  # Discord shows "thinking…"; the answer follows
    target = event.target
    if event.kind == "dm":
        head = f"bot → DM to {target}"
    elif event.kind == "dm_refused":
        head = f"bot ✗ could not DM {target} (their DMs are closed)"
    elif event.kind == "thread":
        kind = event.detail.get("type", "")
        return f"  bot opens a {kind} thread “{event.content}” in {event.where}"
    elif event.kind == "modal":
        head = f"bot → {target} (only {target} sees this): a form “{event.content}”"
    elif event.kind == "choices":
        head = f"bot → {target} suggests"
    elif event.kind == "deleted":
        return f"  bot deleted a message in {event.where}"
    elif event.kind == "error":
        return f"  bot ✗ {event.content} ({event.where})"
    elif event.kind in ("edit", "update"):
        audience = f"only {target} sees this" if event.ephemeral else event.where
        head = f"bot edits a message ({audience})"
    elif event.ephemeral and target:
        head = f"bot → {target} (only {target} sees this)"
    elif target and event.where.startswith("DM"):
        head = f"bot → {target} (in the DM)"
    else:
        head = f"bot posts in {event.where}"
    lines = [f"  {head}:" if event.kind != "choices" else f"  {head}"]
    body: list[str] = []
    if event.content and event.kind not in ("modal", "dm_refused"):
        body += names(event.content).splitlines()
    for embed in event.embeds:
        key = repr(sorted(embed.items()))
        if seen is not None and key in seen and embed.get("title"):
            body.append(f"┃ {names(str(embed['title'])).upper()}  (the same as shown above)")
            continue
        if seen is not None:
            seen.add(key)
        if embed.get("title"):
            body.append(f"┃ {names(str(embed['title'])).upper()}")
        if embed.get("description"):
            body += [f"┃ {line}" for line in names(str(embed["description"])).splitlines()]
        for item in embed.get("fields", []):
            value = names(str(item.get("value", ""))).splitlines() or [""]
            body.append(f"┃ {names(str(item.get('name', '')))}: {value[0]}")
            body += [f"┃   {line}" for line in value[1:]]
        if embed.get("footer"):
            body.append(f"┃ — {names(str(embed['footer']))}")
    if event.components:
        body.append("buttons/menus: " + " ".join(event.components))
    if event.files:
        body.append("📎 attached: " + ", ".join(event.files))
    if event.kind in ("modal", "choices") and event.detail.get("summary"):
        body.append(str(event.detail["summary"]))
    lines += [f"    {line}".rstrip() for line in body]
    return "\n".join(lines)


def format_event(event: Event) -> str:
    """One readable block per event, e.g. `Sam ▸ /crisis region:UK`; empty for plumbing."""
    return render_event(event) or ""
