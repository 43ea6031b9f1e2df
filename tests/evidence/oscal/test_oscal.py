"""OSCAL assessment results from stored scans of the synthetic Acme site, checked by trestle.

Four real scans are stored: one the day before the period and three on its first three days.
A few findings are changed before storing, so that each verdict occurs: a failure outside the
period (must be ignored), a failure on day two, an error on day three.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trestle.oscal.assessment_results as ar
import typer
from trestle.core.validator_factory import validator_factory
from typer.testing import CliRunner

from moodle_soc.api.evidence import parse_period
from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.runner import run_scan
from moodle_soc.cli.oscal import oscal_command
from moodle_soc.evidence.oscal.assessment import build_assessment_results, control_id, export_oscal
from moodle_soc.evidence.store.runs import site_ref_for
from moodle_soc.evidence.store.store import EvidenceStore, open_store
from moodle_soc.frameworks import builtin_framework, load_catalogue
from moodle_soc.models.records import StoredRecord
from moodle_soc.models.run import AuditRun
from moodle_soc.policy import Policy
from moodle_soc.results import Status
from moodle_soc.site.db import Database
from moodle_soc.site.moodle import MoodleSite
from moodle_soc.synthetic.acme import build_acme

from ..conftest import StoreLive

START, END = date(2026, 3, 1), date(2026, 3, 31)
FIRST_SCAN = datetime(2026, 2, 28, 2, 30, tzinfo=UTC)  # the day before the period
# (days after FIRST_SCAN, check, status forced on it): each makes one verdict occur.
CHANGES = {
    0: ("logging.standard_log_enabled", Status.FAIL),  # outside: CC7.3 stays satisfied
    2: ("operations.adhoc_queue_healthy", Status.FAIL),  # PI1.4 fails on 2026-03-02
    3: ("privacy.data_requests_handled_timely", Status.ERROR),  # P4.3 cannot be determined
}


def _changed(run: AuditRun, check_id: str, status: Status) -> AuditRun:
    reason = f"Changed to {status.value} by the OSCAL test."
    findings = tuple(
        f.model_copy(update={"status": status, "reason": reason}) if f.check_id == check_id else f
        for f in run.findings
    )
    assert findings != run.findings, f"{check_id} has no finding to change"
    return run.with_findings(findings)


@pytest.fixture(scope="module")
def stored(
    tmp_path_factory: pytest.TempPathFactory, store_live: StoreLive
) -> Iterator[tuple[EvidenceStore, str, list[Any]]]:
    """The store, the site key, and (record, run) for each stored scan, in audit order."""
    builder = build_acme(users=60)
    kept = []
    with open_store(
        str(tmp_path_factory.mktemp("oscal") / "evidence.sqlite"), create=True
    ) as store:
        for offset in range(4):
            db = Database(
                engine=builder.sqlite_memory(), prefix=builder.prefix, display_url="memory"
            )
            site = MoodleSite(db, audit_time=FIRST_SCAN + timedelta(days=offset), wwwroot=None)
            run = run_scan(ScanContext(site, Policy()))
            if offset in CHANGES:
                run = _changed(run, *CHANGES[offset])
            kept.append((store_live(store, run), run))
        yield store, site_ref_for(kept[0][1]).key, kept


def _in_period(stored: tuple[EvidenceStore, str, list[Any]]) -> list[tuple[StoredRecord, AuditRun]]:
    return [(r, run) for r, run in stored[2] if START <= run.audit_time.date() <= END]


def _expected(criterion_checks: tuple[str, ...], runs: list[AuditRun]) -> str | None:
    """The rule, restated: any failure fails; an error or a manual-only result on a scanned day
    (without failure), or nothing to go on, leaves it undetermined; else it is satisfied."""
    if not criterion_checks:
        return None
    statuses = [f.status for run in runs for f in run.findings if f.check_id in criterion_checks]
    if Status.FAIL in statuses:
        return "not-satisfied"
    if {Status.ERROR, Status.MANUAL} & set(statuses) or Status.PASS not in statuses:
        return None
    return "satisfied"


def _read(path: Path) -> Any:
    """The file as trestle parses it (``oscal_read`` validates against its OSCAL models)."""
    document = ar.AssessmentResults.oscal_read(path)
    assert isinstance(document, ar.AssessmentResults)
    return document


@pytest.fixture(scope="module")
def exported(
    stored: tuple[EvidenceStore, str, list[Any]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    store, key, _ = stored
    return export_oscal(store, key, START, END, tmp_path_factory.mktemp("out") / "results.json")


def test_trestle_reads_the_file_back_and_every_criterion_has_its_verdict(
    stored: tuple[EvidenceStore, str, list[Any]], exported: Path
) -> None:
    document = _read(exported)
    assert json.loads(exported.read_text())["assessment-results"]["uuid"] == document.uuid
    result = document.results[0]
    assert (result.start.date(), result.end.date()) == (START, END)
    criteria = load_catalogue().soc2.criteria
    selected = [
        c.control_id for c in result.reviewed_controls.control_selections[0].include_controls
    ]
    assert selected == [control_id(c.id) for c in criteria]
    assert all(re.fullmatch(r"[a-z]+[0-9]+\.[0-9]+", cid) for cid in selected)

    runs = [run for _record, run in _in_period(stored)]
    by_target = {f.target.target_id: f for f in result.findings}
    assert len(result.findings) == len(by_target) == len(criteria)
    for criterion in criteria:
        finding = by_target[control_id(criterion.id)]
        assert finding.target.type.value == "objective-id"
        state = finding.target.status.state.value if finding.target.status else None
        assert state == _expected(criterion.checks, runs), criterion.id
        verdict = next(p.value for p in finding.props if p.name == "verdict")
        if not criterion.checks:
            assert verdict == "not-assessed" and "Not assessed automatically" in (
                finding.target.description
            )
            assert finding.related_observations is None
    states = {f.target.title: f.target.status for f in result.findings}
    assert states["CC7.3"].state.value == "satisfied"  # its failure was before the period
    assert states["PI1.4"].state.value == "not-satisfied"
    assert "first on 2026-03-02" in by_target["pi1.4"].target.description
    assert "passing again from 2026-03-03" in by_target["pi1.4"].target.description
    assert states["P4.3"] is None and "errored" in by_target["p4.3"].target.description


def test_observations_are_dated_and_cite_only_scans_inside_the_period(
    stored: tuple[EvidenceStore, str, list[Any]], exported: Path
) -> None:
    document = _read(exported)
    result = document.results[0]
    inside = {record.record_hash for record, _run in _in_period(stored)}
    outside = {record.record_hash for record, run in stored[2]} - inside
    assert len(inside) == 3 and len(outside) == 1
    assert not any(h in exported.read_text() for h in outside)
    resources = {r.uuid: r for r in document.back_matter.resources}
    assert f"#{next(iter(resources))}" == document.import_ap.href  # the plan comes first
    cited: set[str] = set()
    for observation in result.observations:
        assert observation.methods == ["TEST"]
        assert START <= observation.collected.date() <= END
        assert observation.expires > observation.collected
        subject = observation.subjects[0].model_dump(mode="json", by_alias=True)
        assert subject["type"] == "component" and subject["title"].startswith("Acme Academy: ")
        for evidence in observation.relevant_evidence:
            assert evidence.href.removeprefix("#") in resources
            cited |= {p.value for p in evidence.props if p.name == "record_hash"}
    assert cited == inside
    days = sorted({o.collected for o in result.observations})
    assert len(days) == 3  # one observation per check per scan day
    last_day = [o for o in result.observations if o.collected == days[-1]]
    assert all(o.expires == days[-1] + timedelta(days=1) for o in last_day)
    assert all(o.expires == days[1] for o in result.observations if o.collected == days[0])
    observation_ids = {o.uuid for o in result.observations}
    for finding in result.findings:
        for related in finding.related_observations or []:
            assert related.observation_uuid in observation_ids


def test_export_is_deterministic_and_passes_trestles_validators(
    stored: tuple[EvidenceStore, str, list[Any]], exported: Path, tmp_path: Path
) -> None:
    store, key, _ = stored
    again = export_oscal(store, key, START, END, tmp_path / "again.json")
    assert again.read_bytes() == exported.read_bytes()
    ids = re.findall(r'"uuid": "([0-9a-f-]{36})"', exported.read_text())
    assert len(ids) == len(set(ids)) and all(uuid.UUID(u).version == 5 for u in ids)
    model = build_assessment_results(store, key, START, END)
    for validator in validator_factory.get_all():
        assert validator.model_is_valid(model, True, None), type(validator).__name__


def test_trestle_validate_command_accepts_the_file(exported: Path, tmp_path: Path) -> None:
    def trestle(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "trestle", *args]
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    trestle("init")
    trestle("import", "-f", str(exported), "-o", "period")
    done = trestle("validate", "-f", "assessment-results/period/assessment-results.json")
    assert "VALID" in done.stdout


def test_a_period_without_scans_determines_nothing(
    stored: tuple[EvidenceStore, str, list[Any]],
) -> None:
    store, key, _ = stored
    model = build_assessment_results(store, key, date(2025, 1, 1), date(2025, 1, 31))
    result = model.results[0]
    assert result.observations is None and model.back_matter.resources[0].uuid
    assert all(f.target.status is None for f in result.findings)
    cc61 = next(f for f in result.findings if f.target.target_id == "cc6.1")
    assert "No stored scan from 2025-01-01 to 2025-01-31" in cc61.target.description


def test_cli_writes_the_file_and_explains_bad_periods(
    stored: tuple[EvidenceStore, str, list[Any]], tmp_path: Path
) -> None:
    store, key, _ = stored
    app = typer.Typer()
    app.command("oscal")(oscal_command)
    app.command("unused")(lambda: None)  # two commands, so the name is part of the call
    output = tmp_path / "cli.json"
    base = ["oscal", "--store", store.location, "--site", key[:12], "-o", str(output)]
    done = CliRunner().invoke(app, [*base, "--period", f"{START}..{END}"])
    assert done.exit_code == 0, done.output
    assert "criteria satisfied" in done.output and "not satisfied" in done.output
    assert "PI1.4" in done.output
    assert json.loads(output.read_text())["assessment-results"]["metadata"]["version"]
    for period, words in (
        ("2026-03-01", "not FROM..TO"),
        ("2026-03-31..2026-03-01", "ends before it starts"),
        ("2026-02-30..2026-03-31", "not a date"),
    ):
        done = CliRunner().invoke(app, [*base, "--period", period])
        assert done.exit_code == 2 and words in done.output, done.output


def test_parse_period() -> None:
    assert parse_period(" 2026-01-01..2026-03-31 ") == (date(2026, 1, 1), date(2026, 3, 31))
    assert parse_period("2026-01-01..2026-01-01") == (date(2026, 1, 1), date(2026, 1, 1))


def test_one_result_per_framework_with_a_finding_per_requirement(
    stored: tuple[EvidenceStore, str, list[Any]], exported: Path, tmp_path: Path
) -> None:
    store, key, _ = stored
    frameworks = [builtin_framework("soc2"), builtin_framework("iso27001")]
    path = export_oscal(store, key, START, END, tmp_path / "two.json", frameworks)
    document = _read(path)
    _, iso = document.results
    # The SOC 2 result is the one the default export holds, uuids and all.
    default = json.loads(exported.read_text())["assessment-results"]["results"][0]
    assert json.loads(path.read_text())["assessment-results"]["results"][0] == default
    assert iso.title == f"ISO/IEC 27001:2022 Annex A period {START} to {END}"
    assert [f.target.target_id for f in iso.findings] == [
        control_id(c.id) for c in builtin_framework("iso27001").criteria
    ]
    runs = [run for _record, run in _in_period(stored)]
    for criterion, finding in zip(
        builtin_framework("iso27001").criteria, iso.findings, strict=True
    ):
        state = finding.target.status.state.value if finding.target.status else None
        assert state == _expected(criterion.checks, runs), criterion.id
    # A.8.6 (capacity) rests on the ad hoc queue check that failed on 2026-03-02.
    capacity = next(f for f in iso.findings if f.target.target_id == "a.8.6")
    assert capacity.target.status.state.value == "not-satisfied"
    ids = re.findall(r'"uuid": "([0-9a-f-]{36})"', path.read_text())
    assert len(ids) == len(set(ids))
    for validator in validator_factory.get_all():
        model = build_assessment_results(store, key, START, END, frameworks)
        assert validator.model_is_valid(model, True, None), type(validator).__name__


def test_cli_exports_a_users_framework(
    stored: tuple[EvidenceStore, str, list[Any]], tmp_path: Path
) -> None:
    store, key, _ = stored
    own = tmp_path / "own.yaml"
    own.write_text(
        "id: own\nname: Own controls\nversion: '1'\ncategories: {OPS: {name: Operations}}\n"
        "requirements:\n  - {id: OPS-1, category: OPS, title: Tasks run, description: Queue.,"
        " checks: [operations.adhoc_queue_healthy], manual_evidence: [], owners: [client]}\n"
    )
    app = typer.Typer()
    app.command("oscal")(oscal_command)
    app.command("unused")(lambda: None)
    output = tmp_path / "own.json"
    base = ["oscal", "--store", store.location, "--site", key[:12], "-o", str(output)]
    done = CliRunner().invoke(app, [*base, "--period", f"{START}..{END}", "--framework", own])
    assert done.exit_code == 0, done.output
    assert "0 criteria satisfied, 1 not satisfied" in done.output
    assert "OPS-1 Tasks run" in done.output
    (result,) = json.loads(output.read_text())["assessment-results"]["results"]
    assert result["title"] == f"Own controls period {START} to {END}"


def test_out_of_scope_criteria_are_stated_not_applicable_by_the_scope_decision(
    sqlite_store: EvidenceStore, store_live: StoreLive
) -> None:
    from moodle_soc import api

    builder = build_acme(users=20)
    db = Database(engine=builder.sqlite_memory(), prefix=builder.prefix, display_url="memory")
    run = run_scan(ScanContext(MoodleSite(db, audit_time=FIRST_SCAN + timedelta(days=2)), Policy()))
    key = store_live(sqlite_store, run).site_key
    catalogue = load_catalogue()
    before = build_assessment_results(sqlite_store, key, START, END, (catalogue.soc2,))
    answers = {
        "hosted_for_customers": True, "availability_commitments": False,
        "confidential_data": True, "processes_transactions": False,
        "personal_information": False, "takes_payments": False, "revenue_recognition": False,
        "erp_integration": False, "customers_under_financial_audit": False,
        "hosting_model": "self-hosted", "report_type": "type2", "period": "2026-03-01..2026-03-31",
    }  # fmt: skip
    api.decide_readiness_scope(sqlite_store, answers=answers, site=key, decided_by="cco",
                               now=datetime(2026, 3, 5, 9, tzinfo=UTC))  # fmt: skip
    model = build_assessment_results(
        sqlite_store, key, START, END, (catalogue.soc2, catalogue.soc1)
    )
    soc2, soc1 = model.results
    findings = {f.target.target_id: f for f in soc2.findings}
    measured = {f.target.target_id: f for f in before.results[0].findings}
    assert findings.keys() == measured.keys()  # nothing dropped

    def props(finding: Any) -> dict[str, str]:
        return {p.name: p.value for p in finding.props}

    decision = (
        "Out of scope: the answers say availability_commitments is false."
        " Decided by cco on 2026-03-05."
    )
    a11 = findings["a1.1"]
    assert a11.target.status is None
    assert a11.target.description == (
        f"Not applicable by scope decision: {decision} Measured over the period:"
        f" {measured['a1.1'].target.description}"
    )
    assert props(a11)["verdict"] == "not-applicable"
    assert props(a11)["scope_decision"] == decision
    assert props(a11)["measured_verdict"] == props(measured["a1.1"])["verdict"]
    for kept in ("cc6.1", "c1.1"):
        assert findings[kept].target.description == measured[kept].target.description
        assert props(findings[kept]) == props(measured[kept])
    assert all(props(f)["verdict"] == "not-applicable" for f in soc1.findings)
    assert soc1.findings[0].target.description.startswith(
        "Not applicable by scope decision: SOC 1 does not apply"
    )
    for validator in validator_factory.get_all():
        assert validator.model_is_valid(model, True, None), type(validator).__name__
