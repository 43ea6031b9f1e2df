"""The readiness report as one self-contained, escaped HTML page, and as PDF."""

from __future__ import annotations

from collections.abc import Sequence

from moodle_soc.models.frameworks import FrameworkReadiness
from moodle_soc.models.programme import ReadinessReport
from moodle_soc.reports.templating import environment


def render_readiness_html(
    report: ReadinessReport, frameworks: Sequence[FrameworkReadiness] = ()
) -> str:
    template = environment().get_template("readiness.html.j2")
    return template.render(report=report, frameworks=frameworks)


def render_readiness_pdf(
    report: ReadinessReport, frameworks: Sequence[FrameworkReadiness] = ()
) -> bytes:
    from moodle_soc.reports.pdf import html_to_pdf

    return html_to_pdf(render_readiness_html(report, frameworks))
