"""Reports: every format renders the one AuditRun model.

Heavy dependencies are imported when a report is rendered (Jinja2 only for HTML), so importing
this package keeps CLI start-up fast.
"""

from __future__ import annotations

from typing import Literal

from moodle_soc.models.run import AuditRun
from moodle_soc.reports.html import render_html
from moodle_soc.reports.json_report import render_json
from moodle_soc.reports.nagios import nagios_line
from moodle_soc.reports.terminal import render_terminal

__all__ = ["nagios_line", "render", "render_html", "render_json", "render_terminal"]


def render(run: AuditRun, fmt: Literal["json", "html"]) -> str:
    """The run as a document in ``fmt``: ``json`` (docs/json-format.md) or ``html``."""
    if fmt == "json":
        return render_json(run)
    if fmt == "html":
        return render_html(run)
    raise ValueError(f"Unknown report format {fmt!r}; expected 'json' or 'html'.")
