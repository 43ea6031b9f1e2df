"""Frameworks: list, load and validate them, score a run against them, and the trust page.

One scan is judged once; each framework (SOC 2, SOC 1, ISO/IEC 27001:2022, NIST SP 800-53 Rev. 5
or a user's file) is a view of its findings, scored by the same rule as the run's own SOC 2
summary (``checks.scoring.score_framework``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moodle_soc.evidence.store.store import EvidenceStore
    from moodle_soc.frameworks import Framework
    from moodle_soc.models.frameworks import FrameworkPeriod, FrameworkReadiness, FrameworkScore
    from moodle_soc.models.period import PeriodReport
    from moodle_soc.models.run import AuditRun
    from moodle_soc.models.trust import TrustPage


def list_frameworks() -> tuple[Framework, ...]:
    """The built-in frameworks: SOC 2, SOC 1, ISO/IEC 27001:2022 and NIST SP 800-53 Rev. 5."""
    from moodle_soc.frameworks import builtin_frameworks

    return builtin_frameworks()


def _known_checks() -> frozenset[str]:
    from moodle_soc.checks.registry import all_checks

    return frozenset(spec.id for spec in all_checks())


def load_framework(reference: str | os.PathLike[str] | Framework) -> Framework:
    """A built-in framework by id, or a framework file by path, validated: errors (a
    ``BadInputError`` naming the file and the line, or a ``UsageError`` for an unknown id)
    include every check id the file maps that no check has."""
    from moodle_soc.frameworks import Framework, resolve_framework

    if isinstance(reference, Framework):
        return reference
    return resolve_framework(reference, _known_checks())


def load_frameworks(
    references: Sequence[str | os.PathLike[str] | Framework],
) -> tuple[Framework, ...]:
    """Each reference loaded once, in order; the same framework id twice is a UsageError."""
    from moodle_soc.errors import UsageError

    frameworks: list[Framework] = []
    for reference in references:
        framework = load_framework(reference)
        if any(f.id == framework.id for f in frameworks):
            raise UsageError(f"Framework {framework.id!r} is given twice.")
        frameworks.append(framework)
    return tuple(frameworks)


def validate_framework_file(path: str | os.PathLike[str]) -> Framework:
    """The framework file at ``path``, validated as ``load_framework`` does (always as a file,
    even when its name is a built-in id)."""
    from moodle_soc.frameworks import load_framework_file

    return load_framework_file(Path(path), _known_checks())


def score_frameworks(
    run: AuditRun, frameworks: Sequence[str | os.PathLike[str] | Framework] = ("soc2",)
) -> tuple[FrameworkScore, ...]:
    """The run seen through each framework: requirement states, category and overall scores."""
    from moodle_soc.checks.scoring import run_tallies, score_framework

    tallies = run_tallies(run)  # from the checks' examples: no population is read
    return tuple(score_framework(tallies, f) for f in load_frameworks(frameworks))


def period_frameworks(
    report: PeriodReport, frameworks: Sequence[str | os.PathLike[str] | Framework] = ("soc2",)
) -> tuple[FrameworkPeriod, ...]:
    """A period report (``api.period_report``) seen through each framework: which requirements
    operated throughout, which had an exception (and from which checks), which are manual."""
    from moodle_soc.evidence.periods.frameworks import framework_periods

    return framework_periods(report, load_frameworks(frameworks))


def readiness_frameworks(
    store: EvidenceStore,
    *,
    site: str | None,
    frameworks: Sequence[str | os.PathLike[str] | Framework],
    as_of: datetime | None = None,
) -> tuple[FrameworkReadiness, ...]:
    """The readiness programme per category of each framework: a requirement is met when its
    checks passed in the latest scan and its manual evidence is ready or due soon, the rule of
    ``api.readiness_programme`` (which shows SOC 2)."""
    from moodle_soc.frameworks import load_catalogue
    from moodle_soc.programme.frameworks import framework_readiness

    loaded = load_frameworks(frameworks)
    moment = as_of or datetime.now(UTC)
    found, catalogue = store.find_site(site), load_catalogue()
    return tuple(framework_readiness(store, found, moment, catalogue, f) for f in loaded)


def latest_run(store: EvidenceStore, site: str | None) -> AuditRun:
    """The last scan of ``site`` (a name or key prefix) recorded in the store."""
    from moodle_soc.evidence.store.runs import load_run
    from moodle_soc.evidence.store.store import StoreError
    from moodle_soc.models.records import RecordKind

    found = store.find_site(site)
    records = store.records(site_key=found.key, kind=RecordKind.RUN.value)
    for record in reversed(records):
        if store.payload(record) is not None:  # retention may have cleared older payloads
            return load_run(store, record)
    raise StoreError(f"No scan of {found.name} is recorded in {store.display}.")


def trust_page(
    run: AuditRun,
    *,
    contact: str,
    frameworks: Sequence[str | os.PathLike[str] | Framework] = ("soc2",),
    periods: Sequence[tuple[date, date]] = (),
    scope: str | None = None,
) -> TrustPage:
    """What the public trust page of ``run``'s site shows: per framework and category, how
    many requirements are monitored and met, the report periods, the last scan date and where
    to request the full report (``contact``: an https:// URL or an email address). It holds
    counts only, never a finding, check id, resource name or observed value."""
    from moodle_soc.reports.trust import build_trust_page

    scores = score_frameworks(run, frameworks)
    return build_trust_page(run, scores, contact=contact, periods=periods, scope=scope)


def render_trust_page(
    run: AuditRun,
    *,
    contact: str,
    frameworks: Sequence[str | os.PathLike[str] | Framework] = ("soc2",),
    periods: Sequence[tuple[date, date]] = (),
    scope: str | None = None,
) -> str:
    """The trust page of ``run`` (see ``trust_page``) as one self-contained HTML document,
    ready to serve without login or to host as a static file."""
    from moodle_soc.reports.trust import render_trust_page as render

    page = trust_page(run, contact=contact, frameworks=frameworks, periods=periods, scope=scope)
    return render(page)
