"""Discord timestamps: each viewer sees them in their own time zone."""

from __future__ import annotations

from typing import Any


def ts(when: Any, style: str = "f") -> str:
    """A Discord timestamp: each viewer sees it in their own time zone."""
    return f"<t:{int(when.timestamp())}:{style}>"
