"""Per-route buckets and a global limit, announced with Discord's headers.

discord.py paces itself from `X-RateLimit-*` headers and only retries a 429 that carries
a `Via` header and a JSON `retry_after`; anything else it treats as a Cloudflare ban.
Buckets are keyed by route template plus its major parameter (channel, guild, webhook),
as Discord does, so tests exercise the client's real bucket handling.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# (limit, window seconds) per route template; unmatched routes get DEFAULT_LIMIT.
DEFAULT_LIMIT = (50, 1.0)


@dataclass
class Bucket:
    limit: int
    window: float
    hits: int = 0
    reset_at: float = 0.0

    def take(self, now: float) -> bool:
        if now >= self.reset_at:
            self.hits, self.reset_at = 0, now + self.window
        if self.hits >= self.limit:
            return False
        self.hits += 1
        return True


@dataclass
class Decision:
    headers: dict[str, str]
    limited: bool = False
    retry_after: float = 0.0
    is_global: bool = False
    scope: str = "user"

    def body(self) -> dict[str, Any]:
        return {
            "message": "You are being rate limited.",
            "retry_after": round(self.retry_after, 3),
            "global": self.is_global,
            "code": 0,
        }


@dataclass
class RateLimiter:
    route_limits: dict[str, tuple[int, float]] = field(default_factory=dict)
    global_limit: tuple[int, float] = (50, 1.0)
    enabled: bool = True
    buckets: dict[tuple[str, str], Bucket] = field(default_factory=dict)
    forced: dict[str, list[Any]] = field(default_factory=dict)  # route -> [count, retry, global]
    global_bucket: Bucket | None = None
    limited_count: int = 0
    limited_by: Counter[str] = field(default_factory=Counter)  # "global" or the route template

    def force(
        self, route: str, count: int = 1, retry_after: float = 0.05, *, is_global: bool = False
    ) -> None:
        self.forced[route] = [count, retry_after, is_global]

    def _forced(self, route: str) -> Decision | None:
        entry = self.forced.get(route)
        if not entry or entry[0] <= 0:
            return None
        entry[0] -= 1
        scope = "global" if entry[2] else "user"
        headers = {"Retry-After": str(max(1, round(entry[1]))), "X-RateLimit-Scope": scope}
        if entry[2]:
            headers["X-RateLimit-Global"] = "true"
        return Decision(headers, True, entry[1], entry[2], scope)

    def check(self, route: str, major: str, *, exempt_global: bool = False) -> Decision:
        """Count one request on `route` (e.g. "POST /channels/{channel_id}/messages")."""
        forced = self._forced(route)
        if forced:
            self._limited("global" if forced.is_global else route)
            return forced
        if not self.enabled:
            return Decision({})
        now = time.monotonic()
        if not exempt_global:
            if self.global_bucket is None:
                self.global_bucket = Bucket(*self.global_limit)
            if not self.global_bucket.take(now):
                self._limited("global")
                retry = self.global_bucket.reset_at - now
                headers = {"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"}
                headers["Retry-After"] = str(max(1, round(retry)))
                return Decision(headers, True, retry, True, "global")
        limit, window = self.route_limits.get(route, DEFAULT_LIMIT)
        bucket = self.buckets.setdefault((route, major), Bucket(limit, window))
        allowed = bucket.take(now)
        reset_after = max(0.0, bucket.reset_at - now)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - bucket.hits)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": hashlib.sha1(route.encode()).hexdigest()[:16],
        }
        if allowed:
            return Decision(headers)
        self._limited(route)
        headers["X-RateLimit-Scope"] = "user"
        headers["Retry-After"] = str(max(1, round(reset_after)))
        return Decision(headers, True, reset_after, False, "user")

    def _limited(self, what: str) -> None:
        self.limited_count += 1
        self.limited_by[what] += 1
