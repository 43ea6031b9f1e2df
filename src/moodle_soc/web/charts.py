"""The readiness trend as an SVG line chart, drawn on the server (no script, no CDN)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 12, 28


@dataclass(frozen=True)
class Line:
    name: str
    css: str
    points: str  # "x,y x,y ..." for <polyline>
    dots: list[tuple[float, float, str]]  # x, y, tooltip


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    lines: list[Line]
    y_ticks: list[tuple[float, str]]
    x_labels: list[tuple[float, str, str]]  # x, text, text-anchor
    empty: bool


def trend_chart(times: Sequence[datetime], series: Mapping[str, Sequence[float | None]]) -> Chart:
    """One line per series (scores 0-100 per time; None leaves a point out)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = (times[-1] - times[0]).total_seconds() if len(times) > 1 else 0.0

    def x(moment: datetime) -> float:
        if span <= 0:
            return LEFT + plot_w / 2
        return round(LEFT + plot_w * (moment - times[0]).total_seconds() / span, 1)

    def y(value: float) -> float:
        return round(TOP + plot_h * (1 - value / 100), 1)

    lines = []
    for number, (name, values) in enumerate(series.items()):
        dots = [
            (x(moment), y(value), f"{name} {moment:%Y-%m-%d}: {value:.1f}%")
            for moment, value in zip(times, values, strict=True)
            if value is not None
        ]
        if dots:
            points = " ".join(f"{px},{py}" for px, py, _ in dots)
            lines.append(Line(name, f"series-{number % 6}", points, dots))
    ticks = [(y(v), f"{v}%") for v in (0, 25, 50, 75, 100)]
    labels = []
    if times:
        labels.append((x(times[0]), f"{times[0]:%Y-%m-%d}", "start" if span > 0 else "middle"))
        if span > 0:
            labels.append((x(times[-1]), f"{times[-1]:%Y-%m-%d}", "end"))
    return Chart(WIDTH, HEIGHT, lines, ticks, labels, empty=not lines)
