"""Text that goes back to Discord: clipped to fit, and members' own values quoted short.

Pure (no discord import), so domain code can use it too.
"""

from __future__ import annotations

MESSAGE_MAX = 2000  # a message's (or an interaction response's) content, Discord's limit
QUOTE_MAX = 60  # a member's value quoted back in a refusal


def clip(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else its start and an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote(value: str, limit: int = QUOTE_MAX) -> str:
    """A member's value in curly quotes on one line, clipped: refusals stay short however
    much was typed ("“Tuesday Evenings”", "“xxxx…”")."""
    return f"“{clip(' '.join(value.split()), limit)}”"
