"""Downloads: the same documents the CLI writes (scan report HTML/JSON/PDF, findings CSV, period
report HTML/JSON, the auditor's export package, OSCAL, the review file and review report).
Every download is logged in the dashboard's audit log."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from moodle_soc.web.access import (
    EVERYONE,
    READERS,
    check_site,
    route,
    store_of,
    user_of,
    within_for,
)
from moodle_soc.web.pages import Day, chosen_period
from moodle_soc.web.render import audit
from moodle_soc.web.reviews import campaign_for

router = APIRouter()
MEDIA = {
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "zip": "application/zip",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _download(request: Request, body: bytes | str, name: str) -> Response:
    """``body`` as an attachment named ``name`` (never rendered in the dashboard's origin)."""
    audit(request, "download", request.url.path, detail=name)
    data = body.encode() if isinstance(body, str) else body
    return Response(
        data,
        media_type=MEDIA[name.rsplit(".", 1)[-1]],
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def _written(write: Callable[[Path], object], name: str) -> bytes:
    """The bytes an API call writes to a file, through a private temporary directory."""
    with tempfile.TemporaryDirectory(prefix="msoc-web-") as folder:
        path = Path(folder) / name
        write(path)
        return path.read_bytes()


def _slug(site_key: str) -> str:
    return "".join(ch for ch in site_key[:12] if ch.isalnum()) or "site"


@route(router, "GET", "/sites/{site_key}/report.{fmt}", READERS)
def scan_report(
    request: Request, site_key: str, fmt: Annotated[str, PathParam(pattern="^(html|json|pdf)$")]
) -> Response:
    from moodle_soc.api.dashboard import latest_run_within
    from moodle_soc.reports import render_html, render_json

    check_site(request, site_key)
    run = latest_run_within(store_of(request), site_key, within=within_for(user_of(request)))
    name = f"moodle-soc-{_slug(site_key)}-{run.audit_time:%Y%m%d}.{fmt}"
    if fmt == "json":
        return _download(request, render_json(run), name)
    html = render_html(run)
    if fmt == "pdf":
        from moodle_soc.reports.pdf import html_to_pdf

        return _download(request, html_to_pdf(html), name)
    return _download(request, html, name)


@route(router, "GET", "/sites/{site_key}/attachments/{seq}", READERS)
def attachment(request: Request, site_key: str, seq: int) -> Response:
    """A manual evidence file, checked against its recorded SHA-256 before it is sent."""
    from moodle_soc.api.dashboard import attachment_file

    check_site(request, site_key)
    found = attachment_file(store_of(request), site_key, seq, within=within_for(user_of(request)))
    audit(request, "download", request.url.path, detail=found.filename)
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in found.filename)
    return Response(
        found.data,
        media_type="application/octet-stream",
        headers={"content-disposition": f'attachment; filename="{safe or "attachment"}"'},
    )


@route(router, "GET", "/sites/{site_key}/findings.csv", READERS)
def findings_csv(
    request: Request,
    site_key: str,
    state: Annotated[str, Query(pattern="^(all|open|fixed)$")] = "all",
) -> Response:
    from moodle_soc.api.dashboard import site_findings
    from moodle_soc.safety import neutralize_formula

    check_site(request, site_key)
    rows = site_findings(
        store_of(request), site_key, within=within_for(user_of(request)), state=state
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = ("check_id", "resource", "severity", "reason", "first_seen", "last_failed",
               "resolved_at", "failing_runs", "recurrences")  # fmt: skip
    writer.writerow(columns)
    for row in rows:
        values = row.model_dump(mode="json")
        writer.writerow([neutralize_formula(str(values[c] or "")) for c in columns])
    return _download(request, out.getvalue(), f"findings-{_slug(site_key)}.csv")


@route(router, "GET", "/sites/{site_key}/period.{fmt}", READERS)
def period_download(
    request: Request,
    site_key: str,
    fmt: Annotated[str, PathParam(pattern="^(html|json)$")],
    start: Day = None,
    end: Day = None,
) -> Response:
    from moodle_soc.api.evidence import period_report
    from moodle_soc.reports.period import render_period_html

    check_site(request, site_key)
    first, last = _period(request, start, end)
    report = period_report(store_of(request), site=site_key, start=first, end=last)
    body = render_period_html(report) if fmt == "html" else report.model_dump_json(indent=2)
    return _download(request, body, f"period-{_slug(site_key)}-{first}-{last}.{fmt}")


@route(router, "GET", "/sites/{site_key}/export.zip", READERS)
def export(request: Request, site_key: str, start: Day = None, end: Day = None) -> Response:
    from moodle_soc.api.evidence import export_package

    check_site(request, site_key)
    first, last = _period(request, start, end)
    store = store_of(request)
    name = f"evidence-{_slug(site_key)}-{first}-{last}.zip"
    data = _written(
        lambda path: export_package(store, site=site_key, start=first, end=last, output=path),
        name,
    )
    return _download(request, data, name)


@route(router, "GET", "/sites/{site_key}/oscal.json", READERS)
def oscal(request: Request, site_key: str, start: Day = None, end: Day = None) -> Response:
    from moodle_soc.api.evidence import export_oscal

    check_site(request, site_key)
    first, last = _period(request, start, end)
    store = store_of(request)
    name = f"oscal-{_slug(site_key)}-{first}-{last}.json"
    data = _written(
        lambda path: export_oscal(store, site=site_key, start=first, end=last, output=path),
        name,
    )
    return _download(request, data, name)


@route(router, "GET", "/sites/{site_key}/remediation.{fmt}", READERS)
def remediation(
    request: Request, site_key: str, fmt: Annotated[str, PathParam(pattern="^(csv|json)$")]
) -> Response:
    """The remediation items for an issue tracker's import (the CLI's ``remediation export``)."""
    from moodle_soc.api.readiness import remediation_export, remediation_items
    from moodle_soc.web.pages import as_of_for

    check_site(request, site_key)
    items = remediation_items(store_of(request), site=site_key, as_of=as_of_for(user_of(request)))
    return _download(
        request, remediation_export(items, fmt), f"remediation-{_slug(site_key)}.{fmt}"
    )


@route(router, "GET", "/reviews/{campaign_id}/review.{fmt}", ("admin", "manager", "reviewer"))
def review_file(
    request: Request, campaign_id: str, fmt: Annotated[str, PathParam(pattern="^(xlsx|csv)$")]
) -> Response:
    from moodle_soc.api.reviews import export_review_file

    found = campaign_for(request, campaign_id)
    name = f"review-{found.id}.{fmt}"
    data = _written(lambda path: export_review_file(store_of(request), found.id, path), name)
    return _download(request, data, name)


@route(router, "GET", "/reviews/{campaign_id}/report.html", EVERYONE)
def review_report(request: Request, campaign_id: str) -> Response:
    from moodle_soc.api.reviews import latest_follow_up_statuses, review_report_html

    found = campaign_for(request, campaign_id)
    html = review_report_html(found, latest_follow_up_statuses(found))
    return _download(request, html, f"review-{found.id}.html")


def _period(request: Request, start: str | None, end: str | None) -> tuple[date, date]:
    user = user_of(request)
    return chosen_period(user.period if user.role == "auditor" else None, start, end)
