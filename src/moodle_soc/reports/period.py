"""The SOC 2 Type II period report as one self-contained HTML page.

It renders a ``models.period.PeriodReport`` (built by ``evidence.periods.timeline``) and knows
nothing of the store: exceptions first, then a pass/fail/unknown bar per control, the finding
histories and the access reviews of the period. The export package turns the same page into
its PDF with ``reports.pdf.html_to_pdf``.
"""

from __future__ import annotations

from collections.abc import Sequence

from moodle_soc.models.frameworks import FrameworkPeriod
from moodle_soc.models.period import PeriodReport
from moodle_soc.reports.templating import environment


def render_period_html(report: PeriodReport, frameworks: Sequence[FrameworkPeriod] = ()) -> str:
    """One self-contained, autoescaped HTML page: exceptions first, a P/F/? bar per control,
    and each framework's requirements over the period (``period report --framework``)."""
    from moodle_soc import __version__
    from moodle_soc.reports.charts import period_trend_svg

    template = environment().get_template("period_report.html.j2")
    return template.render(
        report=report,
        frameworks=frameworks,
        tool_version=__version__,
        trend=period_trend_svg(report.runs),
    )
