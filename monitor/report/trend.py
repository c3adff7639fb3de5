"""The trend chart: states over the last runs as an inline SVG of stacked bars.

Generated here (no charting library, no script): a fixed 640x220 viewBox that scales to the page
width; colours come from CSS classes so the light and dark schemes both apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.vocabulary import TREND_ORDER as STACK

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 34


@dataclass(frozen=True)
class Rect:
    """One stacked segment: position and size in viewBox units, its state and a tooltip."""

    x: float
    y: float
    w: float
    h: float
    state: str
    title: str


@dataclass(frozen=True)
class Tick:
    """An axis label at ``(x, y)``."""

    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Chart:
    """Everything the template draws."""

    rects: list[Rect]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom: int = HEIGHT - BOTTOM


def _total(run: dict[str, Any]) -> int:
    return sum(int(run.get(s) or 0) for s in STACK)


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000):
        if value <= step * 4:
            return step * 4
    return value


def chart(history: list[dict[str, Any]]) -> Chart | None:
    """Geometry of the stacked-bar chart for ``history`` (oldest first), or None if empty."""
    if not history:
        return None
    top = _nice_max(max(max(_total(r) for r in history), 1))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(history)
    bar = max(slot * 0.7, 1.0)
    rects: list[Rect] = []
    for i, run in enumerate(history):
        y = TOP + plot_h
        for state in STACK:
            n = int(run.get(state) or 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            day = (run.get("started_at") or "")[:10]
            rects.append(Rect(round(LEFT + i * slot + (slot - bar) / 2, 2), round(y, 2),
                              round(bar, 2), round(h, 2), state,
                              f"run {run['id']} ({day}): {n} {state}"))
    y_ticks = [Tick(LEFT - 6, round(TOP + plot_h * (1 - f), 2) + 4, str(int(top * f)))
               for f in (0, 0.5, 1)]
    picks = sorted({0, len(history) // 2, len(history) - 1})
    x_ticks = [Tick(round(LEFT + (i + 0.5) * slot, 2), HEIGHT - BOTTOM + 16,
                    (history[i].get("started_at") or "")[5:10] + f" #{history[i]['id']}")
               for i in picks]
    return Chart(rects, y_ticks, x_ticks)
