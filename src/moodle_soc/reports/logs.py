"""Audit-log review outputs: the items to review as rows (CSV, workbook, terminal), the daily
series, and a self-contained HTML page (the shared titled-tables template).

Usernames, IPs and setting values come from Moodle and are untrusted: the template autoescapes
them, and the terminal and CSV writers neutralise markup and formulas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from moodle_soc.models.logs import FAILURE_REASONS
from moodle_soc.reports.changes import Document, Section, render_document, text

if TYPE_CHECKING:
    from moodle_soc.models.logs import AdminAction, Category, LogReview

ITEM_COLUMNS = ("section", "what", "at", "until", "by", "target", "count", "detail", "ip", "id")
#: The privileged categories, in report order, with their headings.
CATEGORIES = (
    ("config_changes", "Configuration changes"),
    ("role_changes", "Role and capability changes"),
    ("role_assignments", "Role assignments at system level"),
    ("users_deleted", "Users deleted"),
    ("passwords_changed_by_others", "Passwords changed by another user"),
    ("loginas_sessions", "'Log in as' sessions"),
    ("tokens_created", "Web-service tokens created"),
)


def reason_label(code: str) -> str:
    if code.isdigit() and int(code) in FAILURE_REASONS:
        return f"{code} ({FAILURE_REASONS[int(code)]})"
    return code


def _action_row(section: str, action: AdminAction) -> list[Any]:
    by = action.by_username or (f"user {action.by_id}" if action.by_id else "system")
    if action.real_by_id is not None:
        by = f"{by} (really user {action.real_by_id})"
    target = action.target_username or (
        f"user {action.target_id}" if action.target_id is not None else ""
    )
    return [section, action.what, action.at, None, by, target, 1, action.detail, action.ip,
            action.id]  # fmt: skip


def review_items(review: LogReview) -> list[list[Any]]:
    """Every item a reviewer signs off, one row each (``ITEM_COLUMNS``), patterns first."""
    auth = review.authentication
    rows: list[list[Any]] = []
    for burst in auth.bursts:
        rows.append(["burst", f"failed logins for one {burst.by}", burst.first, burst.last,
                     "", burst.key, burst.failures, "", burst.key if burst.by == "ip" else "",
                     ""])  # fmt: skip
    for spray in auth.spraying:
        rows.append(["spraying", "one IP, many usernames", spray.first, spray.last, "", "",
                     spray.failures, f"{spray.usernames} usernames: {', '.join(spray.sample)}",
                     spray.ip, ""])  # fmt: skip
    for lock in auth.lockouts:
        rows.append(["lockout", "failed logins of a locked-out account", lock.first, lock.last,
                     "", lock.username, lock.attempts, "", "", ""])  # fmt: skip
    for tried in auth.suspended_attempts:
        rows.append(["suspended", "failed logins of a suspended account", tried.first,
                     tried.last, "", tried.username, tried.attempts, "", "", ""])  # fmt: skip
    for login in auth.inactive_account_logins:
        rows.append(["inactive_login", f"logins of an account now {login.state}", None,
                     login.last, "", login.username, login.logins, "", "", ""])  # fmt: skip
    for source in auth.new_admin_sources:
        rows.append(["new_admin_ip", "administrator login from a new IP", source.first, None,
                     source.username, "", source.logins, "", source.ip, ""])  # fmt: skip
    for name, _title in CATEGORIES:
        category: Category = getattr(review.privileged, name)
        rows.extend(_action_row(name, action) for action in category.items)
    for off in review.integrity.store_disabled:
        rows.append(["store_disabled", "standard log store disabled", off.start, off.end,
                     "" if off.by_id is None else f"user {off.by_id}", "", None, "", "",
                     ""])  # fmt: skip
    for gap in review.integrity.id_gaps.ranges:
        rows.append(["id_gap", "log ids missing", None, None, "", "", gap.missing,
                     f"after id {gap.after}, before id {gap.before}", "", ""])  # fmt: skip
    for day in review.integrity.days_without_events:
        rows.append(["silent_day", "no event at all", str(day), None, "", "", 0, "", "", ""])
    return rows


def daily_rows(review: LogReview) -> tuple[tuple[str, ...], list[list[Any]]]:
    names = tuple(review.daily[0].counts) if review.daily else ()
    columns = ("day", "events", *names)
    return columns, [[str(d.day), d.events, *(d.counts[n] for n in names)] for d in review.daily]


def summary_facts(review: LogReview) -> list[tuple[str, str]]:
    auth, priv, integrity = review.authentication, review.privileged, review.integrity
    reasons = ", ".join(
        f"{reason_label(code)}: {n}" for code, n in auth.failed_logins.by_reason.items()
    )
    facts = [
        ("Successful logins", str(auth.successful_logins)),
        ("Failed logins", f"{auth.failed_logins.total}" + (f" ({reasons})" if reasons else "")),
        ("Brute-force bursts", str(len(auth.bursts))),
        ("Password-spraying IPs", str(len(auth.spraying))),
        ("Locked-out accounts", str(len(auth.lockouts))),
        ("Administrator logins from new IPs", str(len(auth.new_admin_sources))),
    ]
    facts += [(title, str(getattr(priv, name).total)) for name, title in CATEGORIES]
    facts += [
        ("Days without events", str(len(integrity.days_without_events))),
        ("Missing log ids", str(integrity.id_gaps.missing)),
        ("Standard log store disabled", str(len(integrity.store_disabled)) + " time(s)"),
        ("Retention (days; 0 = for ever)", str(integrity.retention_days)),
        ("Oldest log row", text(integrity.oldest_row) or "none"),
        ("Undecodable 'other' values", str(integrity.malformed_other)),
    ]
    return facts


def logs_document(review: LogReview, *, sha256: str | None = None) -> Document:
    facts = summary_facts(review)
    if sha256:
        facts.append(("SHA-256 of the review (canonical JSON)", sha256))
    columns, daily = daily_rows(review)
    return Document(
        title=f"Audit-log review: {review.site}",
        subtitle=[
            f"Period {review.period.start} to {review.period.end} (UTC days) · audit time"
            f" {text(review.audit_time)}"
        ],
        facts=facts,
        notes=list(review.notes),
        sections=[
            Section(
                "Items to review",
                ITEM_COLUMNS,
                [[text(v) for v in row] for row in review_items(review)],
                intro="Patterns, privileged actions and integrity findings of the period.",
                empty="Nothing to review in the period.",
            ),
            Section(
                "Daily series",
                columns,
                [[text(v) for v in row] for row in daily],
                empty="The period has no day.",
                figures=daily_charts(review),
            ),
        ],
    )


def render_logs_html(review: LogReview, *, sha256: str | None = None) -> str:
    return render_document(logs_document(review, sha256=sha256))


# --- charts -------------------------------------------------------------------------------------

CHART_W, CHART_H, PAD_L, PAD_B, PAD_T = 720, 110, 48, 22, 14
SERIES = (
    ("events", "All events"),
    ("successful_logins", "Successful logins"),
    ("failed_logins", "Failed logins"),
    ("config_changes", "Configuration changes"),
    ("role_changes", "Role and capability changes"),
    ("role_assignments", "Role assignments"),
    ("loginas_sessions", "'Log in as' sessions"),
    ("password_changes", "Password changes"),
    ("users_created", "Users created"),
    ("users_deleted", "Users deleted"),
    ("tokens_created", "Web-service tokens created"),
)


def daily_charts(review: LogReview) -> list[Markup]:
    """One bar chart per daily count that is not zero throughout (inline SVG, no script)."""
    charts = []
    for name, title in SERIES:
        values = [d.events if name == "events" else d.counts.get(name, 0) for d in review.daily]
        if any(values):
            charts.append(bar_chart(title, [str(d.day) for d in review.daily], values))
    return charts


def bar_chart(title: str, days: list[str], values: list[int]) -> Markup:
    """Bars of ``values`` per day, the largest labelled; only numbers and dates go in."""
    top = max(max(values), 1)
    plot_w, plot_h = CHART_W - PAD_L - 8, CHART_H - PAD_T - PAD_B
    step = plot_w / max(len(values), 1)
    label = f"{title}: {sum(values)} in {len(values)} day(s), at most {top} a day."
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CHART_W} {CHART_H}"'
        f' width="100%" role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>',
        f'<text x="{PAD_L}" y="11" font-size="11" fill="#1c2330">{escape(title)}</text>',
        f'<text x="{PAD_L - 6}" y="{PAD_T + 8}" text-anchor="end" font-size="10"'
        f' fill="#5b6474">{top}</text>',
        f'<line x1="{PAD_L}" x2="{CHART_W - 8}" y1="{PAD_T + plot_h}" y2="{PAD_T + plot_h}"'
        ' stroke="#d9dee7"/>',
    ]
    for n, (day, value) in enumerate(zip(days, values, strict=True)):
        height = round(plot_h * value / top, 1)
        x = round(PAD_L + n * step + step * 0.1, 1)
        parts.append(
            f'<rect x="{x}" y="{round(PAD_T + plot_h - height, 1)}"'
            f' width="{round(step * 0.8, 1)}" height="{height}" fill="#1f3a5f">'
            f"<title>{escape(day)}: {value}</title></rect>"
        )
    if days:
        parts.append(
            f'<text x="{PAD_L}" y="{CHART_H - 6}" font-size="10" fill="#5b6474">'
            f"{escape(days[0])}</text>"
            f'<text x="{CHART_W - 8}" y="{CHART_H - 6}" text-anchor="end" font-size="10"'
            f' fill="#5b6474">{escape(days[-1])}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
