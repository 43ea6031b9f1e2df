"""The trust page: a public, static HTML summary of a site's compliance for its customers.

``build_trust_page`` reduces a run and its framework scores to counts (``models.trust``), so
the template cannot show a finding, a resource or a reason even by mistake; ``render_trust_page``
renders it self-contained (no script, no network) and escaped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from moodle_soc.errors import UsageError
from moodle_soc.models.frameworks import FrameworkScore
from moodle_soc.models.run import AuditRun
from moodle_soc.models.trust import TrustCategory, TrustFramework, TrustPage, TrustPeriod
from moodle_soc.reports.templating import environment

_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$")
_URL = re.compile(r"^https://[^\s<>\"']+$")


def contact_href(contact: str) -> str:
    """The link for ``contact`` (an https:// URL or an email address); UsageError otherwise."""
    text = contact.strip()
    if _URL.fullmatch(text):
        return text
    if _EMAIL.fullmatch(text):
        return f"mailto:{text}"
    raise UsageError(
        f"The contact {contact!r} is neither an https:// URL nor an email address; customers"
        " need a way to request the full report."
    )


def build_trust_page(
    run: AuditRun,
    scores: Sequence[FrameworkScore],
    *,
    contact: str,
    periods: Sequence[tuple[date, date]] = (),
    scope: str | None = None,
) -> TrustPage:
    """The page's content: counts per framework and category, never a finding."""
    frameworks = []
    for score in scores:
        by_category: dict[str, list[str]] = {}
        coverage_of: dict[str, list[str]] = {}
        for requirement in score.requirements:
            by_category.setdefault(requirement.category, []).append(requirement.state)
            coverage_of.setdefault(requirement.category, []).append(requirement.coverage)
        categories = []
        for readiness in score.readiness:
            coverages = coverage_of.get(readiness.category, [])
            monitored = sum(1 for c in coverages if c != "manual")
            categories.append(
                TrustCategory(
                    name=readiness.name,
                    requirements=readiness.criteria,
                    monitored=monitored,
                    met=readiness.met,
                    in_progress=readiness.gap + readiness.accepted + readiness.error,
                    documented=len(coverages) - monitored,
                )
            )
        frameworks.append(
            TrustFramework(
                name=score.name,
                version=score.version,
                requirements=sum(c.requirements for c in categories),
                monitored=sum(c.monitored for c in categories),
                met=sum(c.met for c in categories),
                score=score.overall_score,
                categories=tuple(categories),
            )
        )
    site = run.site
    default_scope = f"The Moodle learning platform {site.name}" + (
        f" at {site.wwwroot}" if site.wwwroot else ""
    )
    return TrustPage(
        site_name=site.name,
        site_url=site.wwwroot,
        scope=" ".join((scope or default_scope).split()),
        frameworks=tuple(frameworks),
        periods=tuple(TrustPeriod(start=start, end=end) for start, end in periods),
        last_scan=run.audit_time.date(),
        contact=contact.strip(),
        contact_href=contact_href(contact),
    )


def render_trust_page(page: TrustPage) -> str:
    """The page as one self-contained HTML document (no script, no network, escaped)."""
    return environment().get_template("trust.html.j2").render(page=page)
