"""Reports: every output renders a model (``moodle_soc.models``) and knows nothing of the store.

A scan run renders here (``render``: JSON or HTML; ``render_terminal``; ``nagios_line``); the
access inventory in ``reports.access`` (HTML, CSV) and ``reports.access_terminal``; a Type II
period in ``reports.period``. Every HTML page comes from the one Jinja environment of
``reports.templating``, and ``reports.pdf`` is the one place HTML becomes PDF. Heavy
dependencies are imported when a report is rendered (Jinja2 for HTML, WeasyPrint for PDF), so
importing this package keeps CLI start-up fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Sequence

    from moodle_soc.models.frameworks import FrameworkScore
    from moodle_soc.models.run import AuditRun
    from moodle_soc.reports.html import render_html
    from moodle_soc.reports.json_report import render_json
    from moodle_soc.reports.nagios import nagios_line
    from moodle_soc.reports.terminal import render_terminal

# Each renderer is imported when first used: a JSON report never loads the HTML or terminal one.
_LAZY = {
    "render_html": "moodle_soc.reports.html",
    "render_json": "moodle_soc.reports.json_report",
    "nagios_line": "moodle_soc.reports.nagios",
    "render_terminal": "moodle_soc.reports.terminal",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["nagios_line", "render", "render_html", "render_json", "render_terminal"]


def render(
    run: AuditRun, fmt: Literal["json", "html"], frameworks: Sequence[FrameworkScore] = ()
) -> str:
    """The run as a document in ``fmt``: ``json`` (docs/json-format.md) or ``html``, with the
    readiness of each framework in ``frameworks`` (``api.score_frameworks``)."""
    if fmt == "json":
        from moodle_soc.reports.json_report import render_json

        return render_json(run, frameworks)
    if fmt == "html":
        from moodle_soc.reports.html import render_html

        return render_html(run, frameworks)
    raise ValueError(f"Unknown report format {fmt!r}; expected 'json' or 'html'.")
