"""The history chart renders a PNG of the expected size, thread-safely."""

from __future__ import annotations

import asyncio
import io
import random
from datetime import UTC, datetime, timedelta

import matplotlib.image
import pytest

from bot.domain.moods import MoodPoint, mood_stats
from bot.ui.mood_chart import chart_title, render_mood_chart

NOW = datetime(2026, 5, 14, 12, 0, tzinfo=UTC)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def points(count: int, seed: int = 3) -> list[MoodPoint]:
    rng = random.Random(seed)
    step = timedelta(days=365) / max(count, 1)
    return [MoodPoint(NOW - step * i, rng.randint(1, 5)) for i in range(count)]


def decode(png: bytes) -> tuple[int, ...]:
    return tuple(matplotlib.image.imread(io.BytesIO(png), format="png").shape)


@pytest.mark.parametrize("count", [0, 1, 2, 1000])
def test_renders_png_of_expected_size(count: int) -> None:
    data = points(count)
    png = render_mood_chart(data, mood_stats(data, NOW, 365), days=365)
    assert png.startswith(PNG_SIGNATURE)
    assert decode(png)[:2] == (400, 800)


def test_renders_in_a_local_zone() -> None:
    data = points(10)
    png = render_mood_chart(data, mood_stats(data, NOW, 30), days=30, tz="America/New_York")
    assert decode(png)[:2] == (400, 800)


async def test_concurrent_renders_in_threads_are_identical() -> None:
    data = points(50)
    stats = mood_stats(data, NOW, 90)
    pngs = await asyncio.gather(
        *(asyncio.to_thread(render_mood_chart, data, stats, days=90) for _ in range(4))
    )
    assert len(set(pngs)) == 1
    assert all(decode(p)[:2] == (400, 800) for p in pngs)


def test_title_has_average_and_streak() -> None:
    data = [MoodPoint(NOW - timedelta(days=7 * w), 3 + w % 2) for w in range(4)]
    stats = mood_stats(data, NOW, 30)
    assert chart_title(stats, 30) == "Your mood, last 30 days · average 3.5 · streak 4 weeks"
    assert chart_title(mood_stats(data[:1], NOW, 30), 30).endswith("average 3.0 · streak 1 week")
    assert "no answers" in chart_title(mood_stats([], NOW, 30), 30)
