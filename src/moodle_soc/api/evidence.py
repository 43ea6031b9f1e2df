"""The evidence workflows: verify a store, report a period, export and verify a package, OSCAL,
attachments and retention. Each takes an open ``EvidenceStore`` (see ``api.stores``) and a site
named the way users name it (key, key prefix, name or wwwroot; None for the store's only
site)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from moodle_soc.errors import UsageError
from moodle_soc.models.records import DEFAULT_MAX_RECORDING_DELAY_HOURS

if TYPE_CHECKING:
    from moodle_soc.evidence.package.content import Progress
    from moodle_soc.evidence.package.export import PackageSummary
    from moodle_soc.evidence.package.verify import PackageVerifyReport
    from moodle_soc.evidence.store.retention import RetentionResult
    from moodle_soc.evidence.store.signing import Signer
    from moodle_soc.evidence.store.store import EvidenceStore
    from moodle_soc.evidence.store.verify import VerifyReport
    from moodle_soc.frameworks import Framework
    from moodle_soc.models.period import PeriodReport
    from moodle_soc.models.records import SiteRef, StoredRecord
    from moodle_soc.policy import Policy

_HEX = frozenset("0123456789abcdef")


@dataclass
class StoreVerification:
    """What ``verify_store`` found: the chain report plus the verdict on the expected heads.

    ``tampered`` holds one sentence per problem (a changed or missing record, an expected head
    gone, an unsigned record where signatures are required); ``notes`` what the reader should
    know but is not tampering.
    """

    report: VerifyReport
    tampered: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.tampered


def find_site(store: EvidenceStore, site: str | None) -> SiteRef:
    """The one site ``site`` names in the store (key, key prefix, name or wwwroot), or the
    store's only site when ``site`` is None."""
    return store.find_site(site)


def verify_store(
    store: EvidenceStore,
    *,
    site: str | None = None,
    expect_heads: tuple[str, ...] | list[str] = (),
    require_signed: bool = False,
) -> StoreVerification:
    """Walk every chain (or ``site``'s), recomputing every hash and signature.

    ``expect_heads`` are chain heads recorded earlier (e.g. in an export manifest): a head no
    longer in the store means records were removed from the end of a chain, which the chain
    alone cannot show. ``require_signed`` treats an unsigned record as tampering.
    """
    from moodle_soc.evidence.store.verify import verify_store as walk_chains

    for head in expect_heads:
        if len(head) < 8 or not set(head.lower()) <= _HEX:
            raise UsageError(f"--expect-head {head!r} must be at least 8 hex digits.")
    import sqlalchemy as sa

    from moodle_soc.evidence.store.store import StoreError

    try:
        site_key = store.find_site(site).key if site else None
        report = walk_chains(store, site_key)
    except (sa.exc.SQLAlchemyError, UnicodeDecodeError) as exc:
        raise StoreError(
            f"The evidence store {store.display} cannot be read"
            f" ({str(getattr(exc, 'orig', exc)).strip()[:160]}): it is damaged."
        ) from None
    outcome = StoreVerification(report)
    heads = set(report.heads.values())
    for head in expect_heads:
        matches = [h for h in report.known_hashes if h.startswith(head.lower())]
        if not matches:
            outcome.tampered.append(f"expected chain head {head[:16]} is not in the store")
        elif not any(h in heads for h in matches):
            outcome.notes.append(
                f"{head[:16]} is in the store but is no longer a chain head (records were"
                " appended after it)"
            )
    outcome.tampered.extend(problem.describe() for problem in report.problems)
    if require_signed and report.unsigned:
        outcome.tampered.append(
            f"{report.unsigned} record(s) carry no signature although signatures are required"
            " (a stripped signature leaves an intact chain)"
        )
    if not expect_heads:
        outcome.notes.append(
            "records removed from the END of a chain cannot be seen from the store alone;"
            " pass --expect-head with a head recorded earlier (e.g. in an export manifest)"
        )
    return outcome


def period_report(
    store: EvidenceStore,
    *,
    site: str | None,
    start: date,
    end: date,
    max_recording_delay_hours: int = DEFAULT_MAX_RECORDING_DELAY_HOURS,
) -> PeriodReport:
    """Did each control operate throughout ``start``..``end`` (UTC days, inclusive)?

    Runs recorded more than ``max_recording_delay_hours`` after their audit time are
    reconstructed: listed, never counted as monitored days."""
    from moodle_soc.evidence.periods.timeline import period_report as build

    _check_period(start, end)
    key = store.find_site(site).key
    return build(store, key, start, end, max_recording_delay_hours=max_recording_delay_hours)


def export_package(
    store: EvidenceStore,
    *,
    site: str | None,
    start: date,
    end: date,
    output: Path,
    replace: bool = False,
    signer: Signer | None = None,
    progress: Progress | None = None,
    frameworks: Sequence[str | os.PathLike[str] | Framework] = (),
    max_recording_delay_hours: int = DEFAULT_MAX_RECORDING_DELAY_HOURS,
) -> PackageSummary:
    """Write the auditor's ZIP package of ``site``'s evidence for the period to ``output``;
    with ``frameworks`` (ids, files or loaded), each one's requirements over the period."""
    from moodle_soc.api.frameworks import load_frameworks
    from moodle_soc.evidence.package.export import export_package as export

    _check_period(start, end)
    if output.exists() and not replace:
        raise UsageError(f"{output} already exists; use --force to replace it.")
    if output.exists() and not output.is_file():
        raise UsageError(f"{output} is not a file.")
    key = store.find_site(site).key
    loaded = load_frameworks(frameworks)
    return export(
        store,
        key,
        start,
        end,
        output,
        signer=signer,
        progress=progress,
        frameworks=loaded,
        max_recording_delay_hours=max_recording_delay_hours,
    )


def verify_package(path: Path) -> PackageVerifyReport:
    """Verify an exported package offline: manifest, every file, the chain segment, signatures."""
    from moodle_soc.errors import BadInputError
    from moodle_soc.evidence.package.verify import verify_package as verify

    if not path.is_file():
        raise BadInputError(f"{path} does not exist or is not a file.")
    return verify(path)


def export_oscal(
    store: EvidenceStore,
    *,
    site: str | None,
    start: date,
    end: date,
    output: Path,
    frameworks: Sequence[str | os.PathLike[str] | Framework] = (),
) -> SiteRef:
    """Write NIST OSCAL assessment results for the period to ``output``; returns the site.
    One result per framework in ``frameworks`` (ids, files or loaded; default SOC 2)."""
    from moodle_soc.api.frameworks import load_frameworks
    from moodle_soc.evidence.oscal.assessment import export_oscal as export

    _check_period(start, end)
    loaded = load_frameworks(frameworks)
    found = store.find_site(site)
    export(store, found.key, start, end, output, loaded)
    return found


def attach_evidence(
    store: EvidenceStore,
    file: Path,
    *,
    site: str | SiteRef | None,
    control: str,
    effective_date: date,
    collected_by: str,
    note: str = "",
    effective_until: date | None = None,
    supersedes: str | None = None,
) -> StoredRecord:
    """Store a manual evidence file by hash, for a control, with who and its effective date.

    It stays in force until ``effective_until`` (if given), or until the day before a later
    attachment that names it in ``supersedes`` (a record number or hash) takes effect.

    ``site`` names a site of the store (None: its only site), or is a ``SiteRef`` (a chain
    that may not exist yet, such as a fleet's hosting platform, whose evidence its sites
    inherit)."""
    from moodle_soc.evidence.store.attachments import attach_file
    from moodle_soc.models.records import SiteRef

    return attach_file(
        store,
        site if isinstance(site, SiteRef) else store.find_site(site),
        file,
        control=control,
        effective_date=effective_date,
        collected_by=collected_by,
        note=note,
        effective_until=effective_until,
        supersedes=supersedes,
    )


def plan_retention(
    store: EvidenceStore,
    *,
    site: str | None,
    before: date,
    reason: str,
    operator: str,
    policy: Policy | None = None,
) -> RetentionResult:
    """What retention would clear (nothing is changed); confirm, then ``apply_retention``."""
    return _retention(store, site, before, reason, operator, policy, dry_run=True)


def apply_retention(
    store: EvidenceStore,
    *,
    site: str | None,
    before: date,
    reason: str,
    operator: str,
    policy: Policy | None = None,
) -> RetentionResult:
    """Seal, then clear, the payloads collected before ``before`` (never younger than the
    policy's ``min_evidence_retention_days``); every chain still verifies afterwards."""
    return _retention(store, site, before, reason, operator, policy, dry_run=False)


def _retention(
    store: EvidenceStore,
    site: str | None,
    before: date,
    reason: str,
    operator: str,
    policy: Policy | None,
    *,
    dry_run: bool,
) -> RetentionResult:
    from moodle_soc.evidence.store.retention import apply_retention as retain
    from moodle_soc.policy import Policy

    keep = (policy or Policy()).min_evidence_retention_days
    key = store.find_site(site).key
    return retain(
        store, key, before, reason=reason, operator=operator, dry_run=dry_run, min_age_days=keep
    )


def parse_period(text: str, option: str = "--period") -> tuple[date, date]:
    """``FROM..TO`` as two UTC days, inclusive (``2026-01-01..2026-12-31``)."""
    start_text, dots, end_text = text.strip().partition("..")
    if not dots or not start_text or not end_text:
        raise UsageError(f"{option} {text!r} is not FROM..TO, such as 2026-01-01..2026-12-31.")
    start, end = _day(start_text, f"{option} start"), _day(end_text, f"{option} end")
    _check_period(start, end, f"{option} {text!r}")
    return start, end


def _day(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(f"{what} {value!r} is not a date such as 2026-01-31.") from None


def _check_period(start: date, end: date, what: str | None = None) -> None:
    if end < start:
        raise UsageError(f"{what or f'The period {start}..{end}'} ends before it starts.")
