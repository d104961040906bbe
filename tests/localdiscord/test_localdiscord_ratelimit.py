"""The local server's rate limiter tells which limit answered each 429: the global one or a
route's bucket (Discord's `X-RateLimit-Scope` and `global` flag)."""

from __future__ import annotations

from bot.localdiscord.ratelimit import RateLimiter

SEND = "POST /channels/{channel_id}/messages"
EDIT = "PATCH /channels/{channel_id}/messages/{message_id}"


def test_a_routes_bucket_limits_per_major_parameter_and_is_counted_by_route() -> None:
    limiter = RateLimiter(route_limits={EDIT: (5, 5.0)})
    decisions = [limiter.check(EDIT, "channel 1") for _ in range(6)]
    assert [d.limited for d in decisions] == [False] * 5 + [True]
    assert decisions[-1].scope == "user" and not decisions[-1].is_global
    assert not limiter.check(EDIT, "channel 2").limited  # another channel, its own bucket
    assert limiter.limited_count == 1 and limiter.limited_by == {EDIT: 1}


def test_the_global_limit_is_counted_as_global() -> None:
    limiter = RateLimiter(global_limit=(3, 1.0))
    decisions = [limiter.check(SEND, f"channel {i}") for i in range(4)]
    assert [d.limited for d in decisions] == [False, False, False, True]
    assert decisions[-1].is_global and decisions[-1].headers["X-RateLimit-Global"] == "true"
    assert limiter.limited_by == {"global": 1}


def test_exempt_requests_skip_the_global_limit() -> None:
    limiter = RateLimiter(global_limit=(1, 1.0))
    assert not limiter.check(SEND, "a").limited
    assert not limiter.check(SEND, "b", exempt_global=True).limited  # e.g. interaction callbacks
    assert limiter.check(SEND, "c").limited


def test_forced_limits_are_counted_by_their_scope() -> None:
    limiter = RateLimiter()
    limiter.force(SEND, count=1)
    limiter.force(EDIT, count=2, is_global=True)
    assert limiter.check(SEND, "a").limited
    assert limiter.check(EDIT, "a").limited and limiter.check(EDIT, "a").limited
    assert not limiter.check(EDIT, "a").limited
    assert limiter.limited_by == {SEND: 1, "global": 2} and limiter.limited_count == 3
