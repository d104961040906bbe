"""Reading embeds as a member would: all their text, and their field names."""

from __future__ import annotations

from typing import Any


def text_of(embeds: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    for embed in embeds:
        parts += [embed.get("title", ""), embed.get("description", "")]
        for field in embed.get("fields", []):
            parts += [field["name"], field["value"]]
        parts.append(embed.get("footer", {}).get("text", ""))
    return "\n".join(parts)


def field_names(embeds: list[dict[str, Any]]) -> list[str]:
    return [field["name"] for embed in embeds for field in embed.get("fields", [])]
