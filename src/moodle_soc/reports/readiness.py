"""The readiness report as one self-contained, escaped HTML page, and as PDF."""

from __future__ import annotations

from moodle_soc.models.programme import ReadinessReport
from moodle_soc.reports.templating import environment


def render_readiness_html(report: ReadinessReport) -> str:
    return environment().get_template("readiness.html.j2").render(report=report)


def render_readiness_pdf(report: ReadinessReport) -> bytes:
    from moodle_soc.reports.pdf import html_to_pdf

    return html_to_pdf(render_readiness_html(report))
