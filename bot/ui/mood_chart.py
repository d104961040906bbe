"""The `/checkin history` chart: a member's moods over time as a small PNG.

Uses ``Figure`` and ``FigureCanvasAgg`` directly, never pyplot: pyplot keeps global
state and is not thread-safe, and this runs in ``asyncio.to_thread``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure

from bot.domain.moods import MOOD_WORDS, MoodPoint, MoodStats

WIDTH_IN, HEIGHT_IN, DPI = 8, 4, 100  # 800×400 px
LINE = "#5b8db8"  # muted blue
AVERAGE = "#8fae8b"  # sage
INK = "#44505c"
GRID = "#e3e8ee"


def chart_title(stats: MoodStats, days: int) -> str:
    average = "no answers" if stats.average is None else f"average {stats.average:.1f}"
    weeks = "week" if stats.streak == 1 else "weeks"
    return f"Your mood, last {days} days · {average} · streak {stats.streak} {weeks}"


def render_mood_chart(
    points: Sequence[MoodPoint], stats: MoodStats, *, days: int, tz: str = "UTC"
) -> bytes:
    """PNG bytes, 800×400: moods as a line with markers, the average dashed.

    ``tz`` sets the zone of the date axis. Empty ``points`` still render (an empty
    axis), though callers should answer with a friendly line instead.
    """
    ordered = sorted(points, key=lambda p: p.at)
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    many = len(ordered) > 60
    if ordered:
        ax.plot(
            date2num([p.at for p in ordered]),
            [p.mood for p in ordered],
            color=LINE,
            linewidth=0.6 if many else 1.8,
            alpha=0.85 if many else 1.0,
            marker="o",
            markersize=2.5 if many else 6,
            markerfacecolor="white" if not many else LINE,
            markeredgewidth=1.2,
        )
        locator = AutoDateLocator(tz=tz)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=tz))
    if stats.average is not None:
        ax.axhline(stats.average, color=AVERAGE, linestyle="--", linewidth=1.5)
        ax.text(
            1.005,
            stats.average,
            f"avg\n{stats.average:.1f}",
            transform=ax.get_yaxis_transform(),
            color=AVERAGE,
            fontsize=9,
            va="center",
            ha="left",
        )
    ax.set_ylim(0.5, 5.5)
    ax.set_yticks(list(MOOD_WORDS), [f"{n} {w}" for n, w in MOOD_WORDS.items()])
    ax.set_title(chart_title(stats, days), color=INK, fontsize=12)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.tick_params(colors=INK, labelsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(GRID)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
