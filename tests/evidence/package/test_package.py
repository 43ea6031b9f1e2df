"""Exporting a period's evidence: what goes in, what stays out, and that it verifies offline.

One store for the module: the synthetic Acme site scanned on days before, inside and after the
period (one run carries hostile Moodle data), manual evidence inside and outside it, and a
population and a sample as their owners store them; the store and its package are signed.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.runner import run_scan
from moodle_soc.evidence.package.content import safe_name
from moodle_soc.evidence.package.export import PackageSummary, export_package
from moodle_soc.evidence.package.verify import verify_package
from moodle_soc.evidence.store.attachments import attach_file
from moodle_soc.evidence.store.canonical import canonical_bytes, sha256_hex
from moodle_soc.evidence.store.retention import apply_retention
from moodle_soc.evidence.store.runs import store_run
from moodle_soc.evidence.store.signing import generate_key
from moodle_soc.evidence.store.store import EvidenceStore, open_store
from moodle_soc.frameworks import builtin_framework
from moodle_soc.models.records import SiteRef, StoredRecord
from moodle_soc.models.run import AuditRun
from moodle_soc.policy import Policy
from moodle_soc.results import Status
from moodle_soc.site.db import Database
from moodle_soc.site.moodle import MoodleSite
from moodle_soc.synthetic.acme import build_acme

from ...conftest import printing_anew
from ..conftest import StoreLive

START, END = date(2026, 3, 1), date(2026, 3, 14)
INSIDE = (datetime(2026, 3, 2, 9, tzinfo=UTC), datetime(2026, 3, 9, 9, tzinfo=UTC))
OUTSIDE = (datetime(2026, 2, 27, 9, tzinfo=UTC), datetime(2026, 3, 20, 9, tzinfo=UTC))
FORMULA = '=HYPERLINK("https://evil.example","click")'
SCRIPT = "<script>alert(1)</script>"
AFTER = datetime(2026, 3, 15, 8, tzinfo=UTC)
GENERATED = datetime(2026, 3, 31, 12, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    store: EvidenceStore
    site: SiteRef
    runs_in: tuple[StoredRecord, ...]
    runs_out: tuple[StoredRecord, ...]
    attachment_in: StoredRecord
    attachment_out: StoredRecord
    population: StoredRecord
    sample: StoredRecord
    package: Path
    summary: PackageSummary
    key_id: str


def scan(moment: datetime) -> AuditRun:
    builder = build_acme(users=20)
    db = Database(engine=builder.sqlite_memory(), prefix=builder.prefix, display_url="sqlite://")
    return run_scan(ScanContext(MoodleSite(db, audit_time=moment), Policy()))


def hostile(run: AuditRun) -> AuditRun:
    """A Moodle username that is both a spreadsheet formula and a script tag."""
    first = next(i for i, f in enumerate(run.findings) if f.status is Status.FAIL)
    findings = list(run.findings)
    findings[first] = findings[first].model_copy(
        update={"resource": FORMULA, "reason": f"User {SCRIPT} is a site administrator."}
    )
    return run.with_findings(findings)


def store_population(store: EvidenceStore, site: SiteRef) -> StoredRecord:
    """A population as ``populations.store_population`` stores it, collected after the period
    for it (so only its effective date puts it in the package); its rows are hostile."""
    rows = [
        {"userid": 7, "username": FORMULA, "note": SCRIPT},
        {"userid": 8, "username": "@SUM(1)"},
    ]
    query = {
        "purpose": "Users created",
        "sql": "SELECT id FROM mdl_user WHERE timecreated BETWEEN :a AND :b",
        "params": {"a": 1, "b": 2},
        "rows": 2,
        "sha256": "0" * 64,
    }
    payload = {
        "name": "users_created",
        "description": "Accounts created in the period.",
        "period": {"start": str(START), "end": str(END)},
        "site": site.name,
        "audit_time": "2026-03-15T00:00:00Z",
        "query_sql": [query],
        "notes": [],
        "row_count": len(rows),
        "sha256": sha256_hex(b"".join(canonical_bytes(row) + b"\n" for row in rows)),
        "columns": ["userid", "username", "note"],
        "rows": rows,
    }
    return store.append(site, "population", payload, collected_at=AFTER, effective_date=END)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, store_live: StoreLive) -> Iterator[World]:
    where = tmp_path_factory.mktemp("package")
    signer = generate_key(where / "signing.pem")
    with open_store(str(where / "evidence.sqlite"), signer=signer, create=True) as store:
        before = store_live(store, scan(OUTSIDE[0]))
        runs_in = (store_live(store, scan(INSIDE[0])), store_live(store, hostile(scan(INSIDE[1]))))
        after = store_live(store, scan(OUTSIDE[1]))
        site = store.find_site(before.site_key)
        evidence = where / "Restore test <March>.pdf"
        evidence.write_bytes(b"%PDF-1.4 restore test signed by the DBA")
        attached = [
            attach_file(
                store, site, evidence, control=control, effective_date=day, collected_by="al"
            )
            for control, day in (("CC6.1", date(2026, 3, 3)), ("A1.2", date(2026, 4, 2)))
        ]
        population = store_population(store, site)
        sample = {"seed": 42, "indices": [0], "rows": [{"userid": 7}]}
        drawn = store.append(site, "sample", sample, collected_at=AFTER, effective_date=END)
        package = where / "acme-2026-03.zip"
        summary = export_package(store, site.key, START, END, package, generated_at=GENERATED)
        yield World(
            store=store,
            site=site,
            runs_in=runs_in,
            runs_out=(before, after),
            attachment_in=attached[0],
            attachment_out=attached[1],
            population=population,
            sample=drawn,
            package=package,
            summary=summary,
            key_id=signer.key_id,
        )


def members(package: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(package) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def manifest(package: Path) -> dict[str, Any]:
    return json.loads(members(package)["manifest.json"])


def test_the_package_verifies_offline(world: World) -> None:
    report = verify_package(world.package)
    assert report.problem is None, report.problem
    assert report.records == 5
    assert report.manifest_signers == [world.key_id]
    assert report.signed_records == 7  # every header of the range, those left out too
    assert report.range_head == world.summary.range_head == world.sample.record_hash
    assert report.head_at_export == world.sample.record_hash


def test_only_evidence_inside_the_period_is_included(world: World) -> None:
    doc = manifest(world.package)
    included = [r["seq"] for r in doc["records"]]
    expected = [r.seq for r in world.runs_in]
    expected += [world.attachment_in.seq, world.population.seq, world.sample.seq]
    assert included == expected
    names = set(members(world.package))
    assert {f"runs/run-{r.seq}.json" for r in world.runs_in} <= names
    for record in (*world.runs_out, world.attachment_out):
        assert f"runs/run-{record.seq}.json" not in names
        assert f"records/{record.seq}.json" not in names
        assert not [n for n in names if n.startswith(f"attachments/{record.seq}-")]


def test_the_chain_segment_shows_what_was_left_out_and_why(world: World) -> None:
    lines = [
        json.loads(line)
        for line in members(world.package)["chain/records.jsonl"].split(b"\n")
        if line
    ]
    assert [line["seq"] for line in lines] == list(
        range(world.runs_in[0].seq, world.sample.seq + 1)
    )
    left_out = {line["seq"] for line in lines if not line["included"]}
    assert left_out == {world.runs_out[1].seq, world.attachment_out.seq}
    for before, line in itertools.pairwise(lines):
        assert line["header"]["prev"] == before["record_hash"]


def test_runs_are_exported_byte_for_byte_and_attachments_under_safe_names(world: World) -> None:
    files = members(world.package)
    for record in world.runs_in:
        assert sha256_hex(files[f"runs/run-{record.seq}.json"]) == record.content_sha256
    name = f"attachments/{world.attachment_in.seq}-Restore_test_March.pdf"
    assert files[name] == b"%PDF-1.4 restore test signed by the DBA"
    record = json.loads(files[f"records/{world.attachment_in.seq}.json"])
    assert record["payload"]["sha256"] == sha256_hex(files[name])


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..", "file"),
        ("a b/c\\d e.PDF", "d_e.PDF"),
        ("résumé.docx", "r_sum.docx"),
        (".hidden", "hidden"),
        ("x." + "y" * 40, "x.yyyyyyyyyyyy"),
    ],
)
def test_file_names_are_reduced_to_safe_ascii(raw: str, safe: str) -> None:
    assert safe_name(raw) == safe


def test_sha256sum_checks_the_unzipped_package(world: World, tmp_path: Path) -> None:
    with zipfile.ZipFile(world.package) as archive:
        archive.extractall(tmp_path)
    done = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK") == len(manifest(world.package)["files"]) + 1


def test_the_pdf_and_the_workbooks_open(world: World) -> None:
    files = members(world.package)
    assert files["report/period-report.pdf"].startswith(b"%PDF")
    findings = load_workbook(io.BytesIO(files["findings/findings.xlsx"]), read_only=True)
    rows = list(findings.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("run_seq", "audit_time", "check_id")
    assert {row[0] for row in rows[1:]} == {r.seq for r in world.runs_in}
    population = load_workbook(io.BytesIO(files["populations/users_created.xlsx"]))
    assert population.worksheets[0]["B2"].value == FORMULA


def test_formulas_from_moodle_data_stay_text(world: World) -> None:
    files = members(world.package)
    findings = list(csv.reader(io.StringIO(files["findings/findings.csv"].decode())))
    assert [row[6] for row in findings if FORMULA in row[6]] == ["'" + FORMULA]
    population = files["populations/users_created.csv"].decode()
    assert "'" + FORMULA.replace('"', '""') in population and "'@SUM(1)" in population
    for name in ("findings/findings.xlsx", "populations/users_created.xlsx"):
        book = load_workbook(io.BytesIO(files[name]))
        cells = [
            c
            for row in book.worksheets[0].iter_rows()
            for c in row
            if isinstance(c.value, str) and c.value.startswith(("=", "@"))
        ]
        assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells)


def test_moodle_data_is_escaped_in_the_html_report(world: World) -> None:
    html = members(world.package)["report/period-report.html"].decode()
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_populations_carry_their_query_and_a_recomputable_hash(world: World) -> None:
    files = members(world.package)
    payload = json.loads(files[f"records/{world.population.seq}.json"])["payload"]
    assert sha256_hex(files["populations/users_created.jsonl"]) == payload["sha256"]
    assert (
        "SELECT id FROM mdl_user WHERE timecreated BETWEEN :a AND :b;"
        in files["populations/users_created.sql.txt"].decode()
    )
    assert json.loads(files[f"samples/sample-{world.sample.seq}.json"])["seed"] == 42


def test_the_control_matrix_lists_every_check_and_criterion(world: World) -> None:
    rows = list(
        csv.DictReader(io.StringIO(members(world.package)["controls/control-matrix.csv"].decode()))
    )
    checks = {r["id"]: r for r in rows if r["type"] == "check"}
    criteria = {r["id"]: r for r in rows if r["type"] == "criterion"}
    assert "CC6.1" in criteria and str(world.attachment_in.seq) in criteria["CC6.1"]["attachments"]
    assert str(world.attachment_out.seq) not in criteria["A1.2"]["attachments"]
    for row in checks.values():
        days = int(row["days_pass"]) + int(row["days_fail"]) + int(row["days_unknown"])
        assert days == (END - START).days + 1
    assert any(r["status"] == "exception" for r in checks.values())


def test_the_readme_explains_offline_verification(world: World) -> None:
    readme = members(world.package)["README.txt"].decode()
    assert "moodle-soc evidence verify-package package.zip" in readme
    assert "sha256sum -c SHA256SUMS" in readme and "RFC 8785" in readme
    assert world.summary.head_at_export in readme and world.key_id in readme


def test_the_same_evidence_exports_to_the_same_bytes(world: World, tmp_path: Path) -> None:
    again = tmp_path / "again.zip"
    with printing_anew():  # its PDFs too
        export_package(world.store, world.site.key, START, END, again, generated_at=GENERATED)
    assert again.read_bytes() == world.package.read_bytes()


def test_a_period_without_evidence_exports_an_empty_but_valid_package(
    world: World, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.zip"
    summary = export_package(world.store, world.site.key, date(2020, 1, 1), date(2020, 1, 7), empty)
    assert summary.records == 0 and summary.range_head is None
    assert verify_package(empty).problem is None


def test_records_cleared_by_retention_export_as_headers(
    sqlite_store: EvidenceStore, tmp_path: Path
) -> None:
    store = sqlite_store
    run = store_run(store, scan(INSIDE[0]))
    apply_retention(
        store,
        run.site_key,
        date(2026, 3, 5),
        reason="Policy: 1 day.",
        operator="bob",
        min_age_days=0,
    )
    package = tmp_path / "cleared.zip"
    export_package(store, run.site_key, START, START.replace(day=3), package)
    report = verify_package(package)
    assert report.problem is None
    assert any("cleared by retention seal" in note for note in report.notes)
    record = json.loads(members(package)[f"records/{run.seq}.json"])
    assert record["payload"] is None and record["cleared_by"]


def test_a_package_per_framework_holds_each_requirement_and_its_mapping(
    world: World, tmp_path: Path
) -> None:
    iso = builtin_framework("iso27001")
    package = tmp_path / "iso.zip"
    export_package(world.store, world.site.key, START, END, package, generated_at=GENERATED,
                   frameworks=[iso])  # fmt: skip
    assert verify_package(package).problem is None
    files = members(package)
    rows = list(csv.DictReader(io.StringIO(files["frameworks/iso27001.csv"].decode())))
    assert [r["id"] for r in rows] == [c.id for c in iso.criteria]
    by_id = {r["id"]: r for r in rows}
    assert by_id["A.5.1"]["state"] == "manual" and by_id["A.5.1"]["checks"] == ""
    assert {r["state"] for r in rows} <= {"operated", "exception", "incomplete", "manual"}
    for row in rows:
        assert (row["state"] == "exception") == bool(row["exception_checks"]), row["id"]
    mapping = json.loads(files["frameworks/iso27001.json"])
    assert mapping["id"] == "iso27001" and len(mapping["criteria"]) == 93
    assert 'id="framework-iso27001"' in files["report/period-report.html"].decode()
    # Everything else is the package the default export writes.
    plain = members(world.package)
    assert set(files) - set(plain) == {"frameworks/iso27001.csv", "frameworks/iso27001.json"}
    assert files["controls/control-matrix.csv"] == plain["controls/control-matrix.csv"]


def test_the_scope_marks_controls_out_of_scope_and_keeps_them_out_of_the_score(
    sqlite_store: EvidenceStore, tmp_path: Path
) -> None:
    from moodle_soc import api

    store = sqlite_store
    run = store_run(store, scan(INSIDE[0]))
    unscoped = tmp_path / "unscoped.zip"
    export_package(store, run.site_key, START, END, unscoped, generated_at=GENERATED)
    answers = {
        "hosted_for_customers": True, "availability_commitments": False,
        "confidential_data": True, "processes_transactions": False,
        "personal_information": False, "takes_payments": False, "revenue_recognition": False,
        "erp_integration": False, "customers_under_financial_audit": False,
        "hosting_model": "self-hosted", "report_type": "type2",
        "period": "2026-03-01..2026-03-14",
    }  # fmt: skip
    api.decide_readiness_scope(
        store, answers=answers, site=run.site_key, decided_by="cco", now=AFTER
    )
    package = tmp_path / "scoped.zip"
    export_package(store, run.site_key, START, END, package, generated_at=GENERATED)

    def matrix(path: Path) -> dict[tuple[str, str], dict[str, str]]:
        text = members(path)["controls/control-matrix.csv"].decode()
        return {(r["type"], r["id"]): r for r in csv.DictReader(io.StringIO(text))}

    before, after = matrix(unscoped), matrix(package)
    assert before.keys() == after.keys()  # never dropped
    by = " Decided by cco on 2026-03-15."
    availability = after["criterion", "A1.2"]
    assert availability["in_scope"] == "false"
    assert availability["scope_decision"] == (
        "Out of scope: the answers say availability_commitments is false." + by
    )
    assert availability["status"] == before["criterion", "A1.2"]["status"]  # measured, kept
    assert after["criterion", "CC6.1"]["in_scope"] == "true"
    assert after["criterion", "CC6.1"]["scope_decision"] == "Security is always in scope." + by
    assert after["criterion", "C1.1"]["in_scope"] == "true"
    soc1 = [r for (kind, id_), r in after.items() if kind == "criterion" and "ITGC" in id_]
    assert soc1 and all(r["in_scope"] == "false" for r in soc1)
    assert soc1[0]["scope_decision"].startswith("SOC 1 does not apply")
    assert before["criterion", "A1.2"]["scope_decision"].startswith("No scope decided")
    cached = after["check", "hardening.javascript_cached"]  # serves only A1.1
    assert cached["in_scope"] == "false"
    assert cached["scope_decision"] == (
        "Out of scope: every criterion it serves (A1.1) is out of scope. Out of scope: the"
        " answers say availability_commitments is false." + by
    )
    assert cached["status"] == before["check", "hardening.javascript_cached"]["status"]
    mfa = after["check", "authentication.mfa_enabled"]
    assert mfa["in_scope"] == "true" and mfa["scope_decision"].startswith("In scope: it serves CC")
    for (kind, _), row in after.items():
        if kind == "check":
            served = row["criteria_or_checks"].split()
            inside = [c for c in served if after["criterion", c]["in_scope"] == "true"]
            assert row["in_scope"] == ("true" if inside or not served else "false")
            assert row["status"] == before[kind, row["id"]]["status"]

    def controls_line(path: Path) -> str:
        readme = members(path)["README.txt"].decode()
        return next(line for line in readme.splitlines() if line.startswith("Controls:"))

    criteria = [r for (kind, _), r in after.items() if kind == "criterion"]
    counted = [r for r in criteria if r["in_scope"] == "true"]
    operated = sum(r["status"] == "operated throughout" for r in counted)
    assert controls_line(package) == (
        f"Controls:    {operated} of {len(counted)} in-scope SOC 2 criteria and SOC 1 objectives"
        f" operated throughout the period; {len(criteria) - len(counted)} out of scope by the"
        " scope decision (listed, not counted)."
    )
    assert controls_line(unscoped).endswith(
        f"of {len(criteria)} in-scope SOC 2 criteria and"
        " SOC 1 objectives operated throughout the period."
    )
    assert verify_package(package).problem is None
