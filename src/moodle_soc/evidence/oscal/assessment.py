"""A period's stored scans as NIST OSCAL assessment results, built with compliance-trestle.

Per scan day, one observation per check, citing the evidence records. Per SOC 2 criterion, one
finding on objective ``cc6.1`` (for CC6.1), by the period report's day maths (``periods.py``):
``satisfied`` when its checks passed on every scanned day, ``not-satisfied`` on any failed day.
A criterion no check reads, or whose checks erred, never applied or never ran, gets *no*
objective status (optional in OSCAL 1.2): nothing was determined, and its ``verdict`` prop and
target description say why. UUIDs are uuid5 over site, period and ids, last-modified is the
newest scan included: the same evidence exports the same bytes.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import trestle.oscal.assessment_results as ar
import trestle.oscal.common as oc
from trestle.oscal import OSCAL_VERSION

from moodle_soc import __version__
from moodle_soc.errors import UsageError
from moodle_soc.evidence.periods.timeline import RunView, build_period_report
from moodle_soc.evidence.store.runs import load_run
from moodle_soc.evidence.store.store import EvidenceStore, StoreError
from moodle_soc.frameworks import (
    Catalogue,
    Criterion,
    Framework,
    ManualEvidence,
    load_catalogue,
)
from moodle_soc.models.period import ControlPeriod
from moodle_soc.models.records import DEFAULT_MAX_RECORDING_DELAY_HOURS, RecordKind, StoredRecord
from moodle_soc.models.run import AuditRun, Finding, worst_status
from moodle_soc.results import Status

NS = "https://moodle-soc.example/ns/oscal"
_ROOT = uuid.uuid5(uuid.NAMESPACE_URL, NS)  # fixed forever: changing it renames every export
MAX_SUBJECTS = 50  # per observation; its "resources" prop counts all, the record lists them


def control_id(criterion_id: str) -> str:
    """OSCAL control and objective ids are lowercase tokens: CC6.1 -> cc6.1."""
    return criterion_id.lower()


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:  # first, last second
    if end < start:
        raise UsageError(f"The period ends ({end}) before it starts ({start}).")
    return datetime.combine(start, time.min, UTC), datetime.combine(end, time(23, 59, 59), UTC)


def _prop(name: str, value: object) -> Any:
    return oc.Property(name=name, value=" ".join(str(value).split()) or "-", ns=NS)


def _record_props(record: StoredRecord) -> list[Any]:
    return [_prop("record_seq", record.seq), _prop("record_hash", record.record_hash)]


class _Context(NamedTuple):
    site_key: str
    site_name: str
    start: date
    end: date
    controls: dict[str, ControlPeriod]  # the period report's days of each check
    scope: str = ""  # the framework of a result other than SOC 2 (keeps SOC 2's uuids as they were)

    def uid(self, *parts: object) -> str:
        scope = (self.scope,) if self.scope else ()
        key = "|".join(map(str, (self.site_key, self.start, self.end, *scope, *parts)))
        return str(uuid.uuid5(_ROOT, key))

    @property
    def origins(self) -> list[Any]:
        return [oc.Origin(actors=[oc.OriginActor(type="tool", actor_uuid=self.uid("tool"))])]


_ScanDay = tuple[date, list[tuple[StoredRecord, AuditRun]]]
_Seen = dict[str, list[tuple[date, Status]]]  # check id: (scan day, worst status that day)


def _scan_days(
    store: EvidenceStore, key: str, first: datetime, last: datetime, max_delay_hours: int
) -> tuple[list[_ScanDay], list[StoredRecord]]:
    """Readable contemporaneous runs by UTC day of their audit time, and the runs retention
    cleared. Reconstructed runs (recorded too long after their audit time) are no
    observation of the control operating, so they are left out."""
    days: dict[date, list[tuple[StoredRecord, AuditRun]]] = defaultdict(list)
    last, cleared = last + timedelta(microseconds=999_999), []
    records = store.records(
        site_key=key, kind=RecordKind.RUN, collected_from=first, collected_to=last
    )
    for record in sorted(records, key=lambda r: (r.collected_at, r.seq)):
        if record.reconstructed(max_delay_hours):
            continue
        try:  # collected_at is UTC, so its date is the UTC day
            days[record.collected_at.date()].append((record, load_run(store, record)))
        except StoreError:  # the payload was cleared by retention; its seal accounts for it
            cleared.append(record)
    return sorted(days.items()), cleared


def build_assessment_results(
    store: EvidenceStore,
    site_key: str,
    start: date,
    end: date,
    frameworks: Sequence[Framework] = (),
    *,
    max_recording_delay_hours: int = DEFAULT_MAX_RECORDING_DELAY_HOURS,
) -> Any:
    """The period's assessment results as a validated trestle ``AssessmentResults`` model: one
    result per framework (default SOC 2), each with a finding per requirement."""
    first, last = period_bounds(start, end)
    site = next((s for s in store.sites() if s.key == site_key), None)
    if site is None:
        raise StoreError(f"No site with key {site_key!r} in the evidence store {store.display}.")
    delay = max_recording_delay_hours
    days, cleared = _scan_days(store, site_key, first, last, delay)
    views = [RunView.from_run(record, run) for _day, pairs in days for record, run in pairs]
    report = build_period_report(
        site, views, start, end, generated_at=first, max_recording_delay_hours=delay
    )
    from moodle_soc.programme.scope import categories_out_of_scope, scope_in_force

    out = categories_out_of_scope(scope_in_force(store, site_key), soc1=True)
    name = " ".join(site.name.split()) or site_key  # OSCAL titles are one non-empty line
    ctx = _Context(site_key, name, start, end, {c.check_id: c for c in report.controls})
    catalogue = load_catalogue()
    runs = [record for _day, day_runs in days for record, _run in day_runs]
    lost = ", ".join(str(record.seq) for record in cleared)
    results = [
        _result(
            ctx._replace(scope="" if framework.id == "soc2" else framework.id),
            framework,
            catalogue,
            days,
            runs,
            f"Retention cleared scans {lost}: their days count as unscanned." if lost else None,
            out,
        )
        for framework in frameworks or (catalogue.soc2,)
    ]
    return ar.AssessmentResults(
        uuid=ctx.uid("assessment-results"),
        metadata=oc.Metadata(
            title=f"moodle-soc assessment results: {name} {start} to {end}",
            last_modified=max((r.collected_at for r in runs), default=first),
            version=__version__,
            oscal_version=OSCAL_VERSION,
            props=[_prop("site_key", site_key), _prop("period", f"{start}..{end}")],
        ),
        import_ap=ar.ImportAp(
            href=f"#{ctx.uid('plan')}",
            remarks="The plan is moodle-soc's check catalogue, the back-matter resource named.",
        ),
        results=results,
        back_matter=oc.BackMatter(resources=_resources(ctx, catalogue, runs)),
    )


def _result(
    ctx: _Context,
    framework: Framework,
    catalogue: Catalogue,
    days: list[_ScanDay],
    runs: list[StoredRecord],
    remarks: str | None,
    out_of_scope: Mapping[str, str],
) -> Any:
    """One framework's result: an observation per check per scan day, a finding per requirement.

    ``out_of_scope`` maps SOC 2 categories (and ``SOC1``) the readiness scope leaves out to its
    decision: their SOC 2 criteria (SOC 1 objectives) are stated not applicable by it."""
    start, end, operational = ctx.start, ctx.end, oc.Status(state="operational")
    criteria = framework.criteria
    observations, seen = _observations(ctx, days, {c for k in criteria for c in k.checks})
    components = [
        oc.SystemComponent(
            uuid=ctx.uid(key), type=kind, title=title, description=text, status=operational
        )
        for key, kind, title, text in (
            ("tool", "software", f"moodle-soc {__version__}", "The read-only audit tool."),
            ("site", "this-system", ctx.site_name, "The Moodle site every scan observed."),
        )
    ]
    selection = [oc.SelectControlById(control_id=control_id(c.id)) for c in criteria]
    label = "SOC 2" if framework.id == "soc2" else framework.name
    evidence = catalogue.manual_evidence | framework.manual_evidence
    props = [_prop("site_key", ctx.site_key), _prop("catalogue_version", catalogue.version)]
    if framework.id != "soc2":
        props.append(_prop("framework", framework.id))
    return ar.Result(
        uuid=ctx.uid("result"),
        title=f"{label} period {start} to {end}",
        description=f"{len(runs)} stored moodle-soc scans of {ctx.site_name} on {len(days)} of"
        f" the {(end - start).days + 1} days, judged by check catalogue {catalogue.version}.",
        start=period_bounds(start, end)[0],
        end=period_bounds(start, end)[1],
        props=props,
        local_definitions=ar.LocalDefinitions1(components=components),
        reviewed_controls=oc.ReviewedControls(
            description=f"{framework.name} ({framework.version}), every requirement."
            if framework.id != "soc2"
            else f"{framework.name} ({framework.version}), every criterion.",
            control_selections=[oc.ControlSelections(include_controls=selection)],
        ),
        observations=observations or None,
        findings=[
            _finding(ctx, c, seen, evidence, _scope_decision(framework.id, c, out_of_scope))
            for c in criteria
        ],
        remarks=remarks,
    )


def _observations(ctx: _Context, days: list[_ScanDay], mapped: set[str]) -> tuple[list[Any], _Seen]:
    """Per scan day, one observation per mapped check: its worst status over that day's scans,
    collected at the day's first scan and valid until the next scan day (else a day)."""
    observations: list[Any] = []
    seen: _Seen = defaultdict(list)
    for index, (day, day_runs) in enumerate(days):
        records = [record for record, _run in day_runs]
        following = days[index + 1][1][0][0].collected_at if index + 1 < len(days) else None
        expires = following or records[-1].collected_at + timedelta(days=1)
        by_check: dict[str, list[Finding]] = defaultdict(list)
        for finding in (
            f for _r, run in day_runs for f in run.iter_findings() if f.check_id in mapped
        ):
            by_check[finding.check_id].append(finding)
        for check_id, findings in sorted(by_check.items()):
            observations.append(_observation(ctx, day, findings, records, expires))
            seen[check_id].append((day, worst_status([f.status for f in findings])))
    return observations, seen


def _observation(
    ctx: _Context,
    day: date,
    findings: list[Finding],
    records: list[StoredRecord],
    expires: datetime,
) -> Any:
    status = worst_status([f.status for f in findings])
    worst = max(findings, key=lambda f: f.severity.rank)
    ordered = sorted(findings, key=lambda f: (f.status is Status.PASS, f.resource))
    problems = dict.fromkeys(f"{f.resource}: {f.reason}" for f in ordered if f.status != "pass")
    resources = list(dict.fromkeys(f.resource for f in ordered))
    props = [_prop("check_id", worst.check_id), _prop("status", status.value)]
    props += [_prop("severity", worst.severity.value), _prop("scans", len(records))]
    props += [_prop("resources", len(resources))]
    if worst.moodle_check:
        props.append(_prop("moodle_check", worst.moodle_check))
    return oc.Observation(
        uuid=ctx.uid("observation", day, worst.check_id),
        title=f"{worst.check_id} on {day}: {status.value}",
        description=f"{worst.title}. " + (" ".join(problems) or "Every resource passed."),
        props=props,
        methods=["TEST"],
        types=["control-objective"],
        origins=ctx.origins,
        subjects=[
            oc.SubjectReference(
                subject_uuid=ctx.uid("site"),
                type="component",
                title=" ".join(f"{ctx.site_name}: {resource}".split()),
                props=[_prop("resource", resource)],
            )
            for resource in resources[:MAX_SUBJECTS]
        ],
        relevant_evidence=[
            oc.RelevantEvidence(
                href=f"#{ctx.uid('record', record.seq)}",
                description=f"Evidence record {record.seq}: the scan collected"
                f" {record.collected_at:%Y-%m-%d %H:%M:%SZ}.",
                props=_record_props(record),
            )
            for record in records
        ],
        collected=records[0].collected_at,
        expires=expires,
    )


def _resources(ctx: _Context, catalogue: Catalogue, runs: list[StoredRecord]) -> list[Any]:
    """The implicit assessment plan (the check catalogue), then each included evidence record."""
    plan = oc.Resource(
        uuid=ctx.uid("plan"),
        title="moodle-soc assessment plan: its check catalogue",
        description=f"Read-only checks mapped to SOC 2 criteria, catalogue {catalogue.version}.",
    )
    return [plan] + [
        oc.Resource(
            uuid=ctx.uid("record", record.seq),
            title=f"moodle-soc evidence record {record.seq} (scan run)",
            description=f"Entry {record.chain_index} of the site's hash chain, collected"
            f" {record.collected_at:%Y-%m-%d %H:%M:%SZ}; 'moodle-soc evidence verify' checks it.",
            props=[*_record_props(record), _prop("content_sha256", record.content_sha256)],
        )
        for record in runs
    ]


def _scope_decision(framework: str, criterion: Criterion, out: Mapping[str, str]) -> str | None:
    """The scope decision that leaves a SOC 2 criterion (by category) or SOC 1 objective out."""
    if framework == "soc2":
        return out.get(criterion.category)
    return out.get("SOC1") if framework == "soc1" else None


def _finding(
    ctx: _Context,
    criterion: Criterion,
    seen: _Seen,
    evidence: Mapping[str, ManualEvidence],
    out_of_scope: str | None = None,
) -> Any:
    verdict, sentence = _verdict(criterion, seen, ctx)
    reason = {"satisfied": "pass", "not-satisfied": "fail"}.get(verdict)
    status = oc.ObjectiveStatus(state=verdict, reason=reason) if reason else None
    props = [_prop("criterion", criterion.id), _prop("verdict", verdict)]
    if out_of_scope is not None:  # stated, never dropped; what the scans saw stays visible
        sentence = (
            f"Not applicable by scope decision: {out_of_scope} Measured over the period: {sentence}"
        )
        props = [
            _prop("criterion", criterion.id),
            _prop("verdict", "not-applicable"),
            _prop("measured_verdict", verdict),
            _prop("scope_decision", out_of_scope),
        ]
        status = None
    related = [ctx.uid("observation", d, c) for c in criterion.checks for d, _ in seen.get(c, [])]
    manual = [evidence[e].title for e in criterion.manual_evidence if e in evidence]
    return oc.Finding(
        uuid=ctx.uid("finding", criterion.id),
        title=f"{criterion.id} {criterion.title}",
        description=criterion.description,
        props=props,
        origins=ctx.origins,
        target=oc.FindingTarget(
            type="objective-id",
            target_id=control_id(criterion.id),
            title=criterion.id,
            description=sentence,
            status=status,
        ),
        related_observations=[oc.RelatedObservation(observation_uuid=u) for u in related] or None,
        remarks=f"Also rests on manual evidence: {'; '.join(manual)}." if manual else None,
    )


def _verdict(criterion: Criterion, seen: _Seen, ctx: _Context) -> tuple[str, str]:
    """satisfied, not-satisfied, not-assessed or not-determined, and the sentence why."""
    mine = [ctx.controls[check] for check in criterion.checks if check in ctx.controls]
    if not criterion.checks:
        why = "no moodle-soc check reads this criterion; an auditor examines its manual evidence"
        return "not-assessed", f"Not assessed automatically: {why}."
    if not mine:
        return "not-determined", f"No stored scan from {ctx.start} to {ctx.end} ran its checks."
    scanned = sorted({cell.day for cell in mine[0].timeline if cell.runs})
    if failed := [c for c in mine if c.exception]:
        bad = sorted({day for c in failed for day in c.exception_days})
        still = ", ".join(c.check_id for c in failed if c.still_failing)
        fixed = max((c.fixed_on for c in failed if c.fixed_on), default=None)
        return "not-satisfied", (
            f"Failed on {len(bad)} of {len(scanned)} scanned days, first on {bad[0]}:"
            f" {', '.join(c.check_id for c in failed)}; "
            + (f"still failing: {still}." if still else f"passing again from {fixed}.")
        )
    if odd := sorted({x.day for c in mine for x in c.timeline if x.runs and x.status != "pass"}):
        return "not-determined", (
            f"No check failed, but on {len(odd)} scanned days (first {odd[0]}) a check errored,"
            " needed manual evidence or did not run, so it cannot be shown satisfied."
        )
    if not any(s is Status.PASS for c in criterion.checks for _day, s in seen.get(c, [])):
        return "not-determined", "No check of this criterion applied to this site."
    return "satisfied", (
        f"Every check passed or did not apply on all {len(scanned)} scanned days, {scanned[0]}"
        f" to {scanned[-1]}, of the {(ctx.end - ctx.start).days + 1}-day period."
    )


def export_oscal(
    store: EvidenceStore,
    site_key: str,
    start: date,
    end: date,
    output: Path,
    frameworks: Sequence[Framework] = (),
) -> Path:
    """Write the period's assessment results as OSCAL JSON with trestle's own serializer."""
    results = build_assessment_results(store, site_key, start, end, frameworks)
    try:
        output.write_bytes(results.oscal_serialize_json_bytes(pretty=True) + b"\n")
    except OSError as exc:
        raise StoreError(f"Cannot write {output}: {exc.strerror or exc}.") from None
    return output
