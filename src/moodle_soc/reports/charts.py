"""Charts for people who look rather than read: the period's trend as inline SVG, drawn on the
server (no script, no CDN), so the same chart is in the HTML page and its PDF.

Only numbers and dates go into the SVG; every text is escaped all the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup, escape

from moodle_soc.models.period import RunRef

WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 48, 48, 16, 30
SCORE, FAILING = "#17703a", "#b42318"


def period_trend_svg(runs: Sequence[RunRef]) -> Markup:
    """Readiness score (left axis, percent) and failing checks (right axis) of each live run
    over the period; an empty string when no live run was recorded."""
    if not runs:
        return Markup("")
    times = [r.audit_time for r in runs]
    most = max(max(r.failed_checks for r in runs), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = (times[-1] - times[0]).total_seconds()

    def x(moment: datetime) -> float:
        if span <= 0:
            return LEFT + plot_w / 2
        return round(LEFT + plot_w * (moment - times[0]).total_seconds() / span, 1)

    def y(value: float, top: float) -> float:
        return round(TOP + plot_h * (1 - value / top), 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' width="100%" role="img" aria-label="{escape(_label(runs))}">',
        f"<title>{escape(_label(runs))}</title>",
    ]
    for value in (0, 50, 100):  # score grid and left axis
        at = y(value, 100)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at}" y2="{at}" stroke="#d9dee7"/>'
            f'<text x="{LEFT - 6}" y="{at + 4}" text-anchor="end" font-size="11"'
            f' fill="{SCORE}">{value}%</text>'
        )
    for value in sorted({0, most}):
        parts.append(
            f'<text x="{WIDTH - RIGHT + 6}" y="{y(value, most) + 4}" font-size="11"'
            f' fill="{FAILING}">{value}</text>'
        )
    for moment, anchor in (
        ((times[0], "start"), (times[-1], "end")) if span else ((times[0], "middle"),)
    ):
        parts.append(
            f'<text x="{x(moment)}" y="{HEIGHT - 8}" text-anchor="{anchor}" font-size="11"'
            f' fill="#5b6474">{moment:%Y-%m-%d}</text>'
        )
    scored = [(x(r.audit_time), y(r.score, 100), r) for r in runs if r.score is not None]
    failing = [(x(r.audit_time), y(r.failed_checks, most), r) for r in runs]
    for points, colour, what in (
        (scored, SCORE, "readiness"),
        (failing, FAILING, "failing checks"),
    ):
        if len(points) > 1:
            line = " ".join(f"{px},{py}" for px, py, _ in points)
            parts.append(
                f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        for px, py, run in points:
            shown = f"{run.score:.1f}%" if what == "readiness" else str(run.failed_checks)
            tip = f"Run #{run.seq}, {run.audit_time:%Y-%m-%d %H:%M} UTC: {what} {shown}"
            parts.append(
                f'<circle cx="{px}" cy="{py}" r="3" fill="{colour}">'
                f"<title>{escape(tip)}</title></circle>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _label(runs: Sequence[RunRef]) -> str:
    first, last = runs[0], runs[-1]
    scores = [r.score for r in (first, last)]
    if all(s is not None for s in scores):
        change = f"readiness {scores[0]:.1f}% to {scores[1]:.1f}%, "
    else:
        change = ""
    return (
        f"Trend over {len(runs)} live run(s): {change}failing checks"
        f" {first.failed_checks} to {last.failed_checks}."
    )
