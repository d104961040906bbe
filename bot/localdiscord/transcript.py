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
        return "\n".join(format_event(e) for e in self.events)


def format_event(event: Event) -> str:
    """One readable block per event, e.g. `Sam ▸ /crisis region:UK`."""
    if event.actor != "bot":
        return f"{event.actor} ▸ {event.content}  · {event.where}"
    who = {
        "dm": f"bot → {event.target} (DM)",
        "dm_refused": f"bot ✗ {event.target} (DMs closed)",
        "thread": f"bot ⎇ new thread {event.content!r} in {event.where}",
        "modal": f"bot → {event.target} opens form {event.content!r}",
        "sync": f"bot syncs commands ({event.where})",
        "choices": f"bot → {event.target} suggests",
        "deleted": f"bot deleted a message in {event.where}",
        "error": f"bot ✗ {event.where}",
    }.get(event.kind)
    if who is None:
        verb = {"edit": "edits", "update": "updates message"}.get(event.kind, "→")
        audience = (
            f"{event.target} (only {event.target} sees this)" if event.ephemeral else event.where
        )
        who = f"bot {verb} {audience}" if event.target else f"bot {verb} {event.where}"
    lines = [f"  {who}:" if event.kind not in ("thread", "deleted") else f"  {who}"]
    if event.kind == "thread":
        return lines[0]
    if event.content and event.kind not in ("thread", "modal"):
        lines += [f"    {line}" for line in event.content.splitlines()]
    for embed in event.embeds:
        if embed.get("title"):
            lines.append(f"    ┃ **{embed['title']}**")
        if embed.get("description"):
            lines += [f"    ┃ {line}" for line in str(embed["description"]).splitlines()]
        for f in embed.get("fields", []):
            lines.append(f"    ┃ {f['name']}: {f['value']}")
        if embed.get("footer"):
            lines.append(f"    ┃ — {embed['footer']}")
    if event.components:
        lines.append("    " + " ".join(event.components))
    if event.files:
        lines.append("    📎 " + ", ".join(event.files))
    if event.kind in ("modal", "choices") and event.detail.get("summary"):
        lines.append(f"    {event.detail['summary']}")
    if event.kind in ("reply", "followup") and event.detail.get("deferred"):
        lines.append("    (thinking…)")
    return "\n".join(lines)
