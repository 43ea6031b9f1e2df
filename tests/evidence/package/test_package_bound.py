"""Every readable file of a package is made again from its chained records and compared, or is
listed by ``verify-package`` as not bound, with the reason.

The attacker edits one value of one readable file of an unsigned package and recomputes every
hash a forger without a key can (files, manifest, SHA256SUMS, archive comment): the edit must
still be caught, naming the file and what differs.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from moodle_soc import __version__
from moodle_soc.evidence.package.export import export_package
from moodle_soc.evidence.package.verify import UNSIGNED_NOTE, PackageProblem, verify_package
from moodle_soc.evidence.store.attachments import attach_file
from moodle_soc.evidence.store.runs import store_run
from moodle_soc.evidence.store.store import EvidenceStore, open_store
from moodle_soc.frameworks import builtin_framework
from moodle_soc.models.logs import LogReviewSignOff
from moodle_soc.models.records import RecordKind

from ...conftest import printing_anew
from ..conftest import store_run_live
from .test_package import store_population
from .test_package_tamper import Package, read_members, reseal, scan

START, END = date(2026, 3, 1), date(2026, 3, 14)
GENERATED = datetime(2026, 3, 31, 12, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    store: EvidenceStore
    site_key: str
    package: Package
    sample_seq: int


def log_review(start: date, end: date) -> dict[str, Any]:
    """A log review signed off for ``start``..``end``: one ending after the period is not in
    the package, though the period report lists it."""
    signed = LogReviewSignOff.model_validate(
        {"site": "Acme", "wwwroot": None, "period": {"from": str(start), "to": str(end)},
         "audit_time": datetime.combine(end, time(9), UTC), "reviewer": "sam",
         "statement": "Reviewed.", "signed_at": datetime.combine(end, time(10), UTC),
         "review_sha256": "ab" * 32, "figures": {"events": 12}, "review": {}}
    )  # fmt: skip
    return signed.payload()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """An unsigned store: three runs in the period (the last recorded late), an attachment, a
    population and a sample; its package is exported with the ISO 27001 framework."""
    where = tmp_path_factory.mktemp("bound")
    with open_store(str(where / "evidence.sqlite"), create=True) as store:
        runs = [
            store_run_live(store, scan(datetime(2026, 3, day, 9, tzinfo=UTC))) for day in (2, 5)
        ]
        runs.append(store_run(store, scan(datetime(2026, 3, 9, 9, tzinfo=UTC))))  # reconstructed
        site = store.find_site(runs[0].site_key)
        evidence = where / "restore-test.pdf"
        evidence.write_bytes(b"%PDF-1.4 restore test")
        attach_file(
            store,
            site,
            evidence,
            control="CC6.1",
            effective_date=date(2026, 3, 3),
            collected_by="al",
        )
        for first, last in (
            (date(2026, 3, 1), date(2026, 3, 7)),
            (date(2026, 3, 10), date(2026, 3, 20)),
        ):
            store.append(
                site,
                RecordKind.LOG_REVIEW,
                log_review(first, last),
                collected_at=datetime.combine(last, time(10), UTC),
                effective_date=last,
            )
        store_population(store, site)
        after = datetime(2026, 3, 15, 8, tzinfo=UTC)
        sample = {"seed": 42, "indices": [0], "rows": [{"userid": 7}]}
        drawn = store.append(site, "sample", sample, collected_at=after, effective_date=END)
        path = where / "package.zip"
        export_package(
            store,
            site.key,
            START,
            END,
            path,
            generated_at=GENERATED,
            frameworks=[builtin_framework("iso27001")],
        )
        members, comment = read_members(path)
        archive_time = json.loads(dict((n, d) for n, d, _ in members)["manifest.json"])[
            "archive_time"
        ]
        moment = datetime.fromisoformat(archive_time.replace("Z", "+00:00"))
        package = Package(path, path.read_bytes(), members, comment, moment, runs[1].seq)
        yield World(store, site.key, package, drawn.seq)


def edited(
    world: World, tmp_path: Path, path: str, edit: Callable[[bytes], bytes]
) -> PackageProblem | None:
    files = {name: data for name, data, _ in world.package.members}
    document = json.loads(files["manifest.json"])
    files[path] = edit(files[path])
    return reseal(world.package, files, document, tmp_path / "edited.zip")


def cell_edit(row: int, column: str, value: Callable[[str], str]) -> Callable[[bytes], bytes]:
    """Change one cell of a CSV (row 1 is the header), written as the exporter writes it."""

    def edit(data: bytes) -> bytes:
        rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
        at = rows[0].index(column)
        rows[row - 1][at] = value(rows[row - 1][at])
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows(rows)
        return out.getvalue().encode()

    return edit


def first_row_with(column: str) -> Callable[[bytes], int]:
    def find(data: bytes) -> int:
        rows = list(csv.DictReader(io.StringIO(data.decode(), newline="")))
        return next(n for n, row in enumerate(rows, start=2) if row[column])

    return find


def workbook_edit(cell: str, value: object) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        book = load_workbook(io.BytesIO(data))
        book.worksheets[0][cell] = value
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    return edit


def json_edit(change: Callable[[dict], None]) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        document = json.loads(data)
        change(document)
        return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()

    return edit


def text_edit(old: str, new: str) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        text = data.decode()
        assert old in text
        return text.replace(old, new, 1).encode()

    return edit


def byte_flip(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]


def fewer_days(report: dict) -> None:
    report["days_scanned"] -= 1


def later_first_seen(report: dict) -> None:
    report["findings"][0]["first_seen"] = "2026-03-04T09:00:00Z"


def first_reviewer(report: dict) -> None:
    report["log_reviews"][0]["reviewer"] = "someone else"


def outside_record(report: dict) -> None:
    report["log_reviews"][1]["record_hash"] = "0" * 64


def test_an_untouched_package_verifies_and_lists_how_each_file_is_bound(world: World) -> None:
    report = verify_package(world.package.path)
    assert report.ok, report.problem
    how = {b.path: b.bound for b in report.bindings}
    assert set(how) == {name for name, _, _ in world.package.members} - {
        "manifest.json",
        "SHA256SUMS",
    }
    regenerated = {
        "findings/findings.csv",
        "findings/findings.xlsx",
        "frameworks/iso27001.csv",
        "populations/users_created.csv",
        "populations/users_created.jsonl",
        "populations/users_created.sql.txt",
        "populations/users_created.xlsx",
        f"samples/sample-{world.sample_seq}.json",
    }
    assert {path for path, bound in how.items() if bound == "regenerated"} == regenerated
    assert {path for path, bound in how.items() if bound == "partly"} == {
        "README.txt",
        "report/period-report.json",
        "report/period-report.html",
        "report/period-report.pdf",
        "controls/control-matrix.csv",
    }
    assert {path for path, bound in how.items() if bound == "not bound"} == {
        "report/readiness-report.html",
        "report/readiness-report.pdf",
        "report/questionnaire-answers.csv",
        "frameworks/iso27001.json",
    }
    assert all(
        bound == "chain"
        for path, bound in how.items()
        if path.startswith(("runs/", "records/", "attachments/", "chain/"))
    )
    reasons = {b.path: b.how for b in report.unbound}
    assert "does not hold" in reasons["report/readiness-report.html"]
    assert "same as this version's built-in iso27001" in reasons["frameworks/iso27001.json"]
    assert "except in_scope and scope_decision" in reasons["controls/control-matrix.csv"]
    assert "(6 hours: check it is your policy's)" in reasons["report/period-report.json"]
    assert UNSIGNED_NOTE in report.notes


EDITS = {
    "findings status": (
        "findings/findings.csv",
        cell_edit(2, "status", lambda v: "pass" if v != "pass" else "fail"),
        "row 2 (status) differs from the findings of the chained runs (runs/run-",
    ),
    "findings resolved_at": (
        "findings/findings.csv",
        cell_edit(2, "resolved_at", lambda v: "2026-03-04T09:00:00Z"),
        "row 2 (resolved_at) differs from the findings of the chained runs",
    ),
    "findings workbook": (
        "findings/findings.xlsx",
        workbook_edit("E2", "edited"),
        "sheet 'Findings (visible)' cell E2 differs from the workbook made again from the"
        " chained runs",
    ),
    "period report json": (
        "report/period-report.json",
        json_edit(fewer_days),
        "days_scanned differs from the period report of the chained runs",
    ),
    "period report history": (
        "report/period-report.json",
        json_edit(later_first_seen),
        "findings differs from the period report of the chained runs",
    ),
    "period report log review": (
        "report/period-report.json",
        json_edit(first_reviewer),
        "log_reviews differs from the period report of the chained runs",
    ),
    "period report log review outside": (
        "report/period-report.json",
        json_edit(outside_record),
        "which the chain shows is not that log review: edited after export",
    ),
    "period report html": (
        "report/period-report.html",
        text_edit("<h1>", "<h1>Edited "),
        "differs from the file made again from report/period-report.json and the framework"
        " mappings (line ",
    ),
    "period report pdf": (
        "report/period-report.pdf",
        byte_flip,
        "differs from the file made again from report/period-report.html",
    ),
    "control matrix": (
        "controls/control-matrix.csv",
        cell_edit(2, "days_fail", lambda v: str(int(v) + 1)),
        "row 2 (days_fail) differs from what the records make",
    ),
    "framework table": (
        "frameworks/iso27001.csv",
        cell_edit(2, "state", lambda v: "operated" if v != "operated" else "exception"),
        "row 2 (state) differs from what the records make",
    ),
    "population csv": (
        "populations/users_created.csv",
        cell_edit(3, "username", lambda v: "someone.else"),
        "row 3 (username) differs from what the records make",
    ),
    "population rows": (
        "populations/users_created.jsonl",
        text_edit('"userid":8', '"userid":9'),
        "differs from the file made again from record ",
    ),
    "population sql": (
        "populations/users_created.sql.txt",
        text_edit("BETWEEN", "NOT BETWEEN"),
        "differs from the file made again from record ",
    ),
    "population workbook": (
        "populations/users_created.xlsx",
        workbook_edit("A2", 70),
        "cell A2 differs from the workbook made again from record ",
    ),
    "readme": (
        "README.txt",
        text_edit(" populations, ", " populations (all reviewed), "),
        "differs from the file made again from the manifest, the chain and the control matrix"
        " (line 9)",
    ),
    "sample": (
        "samples/sample-{sample}.json",
        json_edit(lambda sample: sample.update(seed=43)),
        "differs from the file made again from record ",
    ),
}


@pytest.mark.parametrize("case", list(EDITS))
def test_an_edited_readable_file_with_a_recomputed_manifest_fails_naming_it(
    world: World, tmp_path: Path, case: str
) -> None:
    path, edit, message = EDITS[case]
    path = path.format(sample=world.sample_seq)
    problem = edited(world, tmp_path, path, edit)
    assert problem is not None, case
    assert problem.file == path
    assert message in problem.message
    assert problem.message.endswith("edited after export")


def test_an_edit_the_records_do_not_decide_verifies_and_is_listed_as_not_bound(
    world: World, tmp_path: Path
) -> None:
    """The scope columns come from the scope decision, which the package does not hold."""
    scope = cell_edit(2, "scope_decision", lambda v: "Out of scope, honest.")
    assert edited(world, tmp_path, "controls/control-matrix.csv", scope) is None

    def outside_reviewer(report: dict) -> None:
        report["log_reviews"][1]["reviewer"] = "someone else"

    # A log review ending after the period is not in the package: the JSON is taken as it
    # states it (only the HTML, rendered from the JSON, then differs).
    stated = json_edit(outside_reviewer)
    problem = edited(world, tmp_path, "report/period-report.json", stated)
    assert problem is not None and problem.file == "report/period-report.html"
    readiness = text_edit("</body>", "<p>Edited.</p></body>")
    assert edited(world, tmp_path, "report/readiness-report.html", readiness) is None


def test_a_package_claiming_another_version_lists_every_readable_file_as_not_bound(
    world: World, tmp_path: Path
) -> None:
    files = {name: data for name, data, _ in world.package.members}
    document = json.loads(files["manifest.json"])
    document["tool"]["version"] = "0.0.1"
    files["findings/findings.csv"] = cell_edit(2, "status", lambda v: "pass")(
        files["findings/findings.csv"]
    )
    assert reseal(world.package, files, document, tmp_path / "old.zip") is None
    report = verify_package(tmp_path / "old.zip")
    readable = {b.path: b.how for b in report.unbound}
    assert "findings/findings.csv" in readable and "report/period-report.html" in readable
    assert readable["findings/findings.csv"].startswith("made by moodle-soc 0.0.1;")
    assert f"(this is moodle-soc {__version__})" in readable["findings/findings.csv"]


def test_export_twice_gives_the_same_bytes_and_the_same_verification(
    world: World, tmp_path: Path
) -> None:
    again = tmp_path / "again.zip"
    with printing_anew():  # its PDFs too
        export_package(
            world.store,
            world.site_key,
            START,
            END,
            again,
            generated_at=GENERATED,
            frameworks=[builtin_framework("iso27001")],
        )
    assert again.read_bytes() == world.package.raw
    first, second = verify_package(world.package.path), verify_package(again)
    assert first.ok and second.ok
    assert first.bindings == second.bindings


def test_the_exporters_own_check_skips_only_printing_the_pdf_again(world: World) -> None:
    """Exporting checks the package it wrote without printing the PDF a second time (it was
    printed from the very HTML that check compares); verify-package always prints it."""
    quick = verify_package(world.package.path, reprint=False)
    full = verify_package(world.package.path)
    assert quick.ok and full.ok
    differ = [(a, b) for a, b in zip(quick.bindings, full.bindings, strict=True) if a != b]
    assert [(a.path, a.bound, b.bound) for a, b in differ] == [
        ("report/period-report.pdf", "not bound", "partly")
    ]


def test_a_package_made_before_the_period_report_json_binds_what_it_can(
    world: World, tmp_path: Path
) -> None:
    """Without report/period-report.json the findings are still made again from the runs
    (all but the history columns); what is drawn from the period report is not bound."""
    from dataclasses import replace

    older = replace(
        world.package,
        members=[m for m in world.package.members if m[0] != "report/period-report.json"],
    )
    files = {name: data for name, data, _ in older.members}
    document = json.loads(files["manifest.json"])
    document["files"] = [f for f in document["files"] if f["path"] in files]
    assert reseal(older, files, document, tmp_path / "older.zip") is None
    report = verify_package(tmp_path / "older.zip")
    how = {b.path: (b.bound, b.how) for b in report.bindings}
    assert how["findings/findings.csv"][0] == "partly"
    assert "except first_seen and resolved_at" in how["findings/findings.csv"][1]
    for path in ("report/period-report.html", "controls/control-matrix.csv", "README.txt"):
        assert how[path] == (
            "not bound",
            "the package has no report/period-report.json (made before it was added) to"
            " regenerate from",
        )
    assert how["frameworks/iso27001.json"][1].startswith("the framework mapping given at export")
    edit = cell_edit(2, "status", lambda v: "pass" if v != "pass" else "fail")
    files["findings/findings.csv"] = edit(files["findings/findings.csv"])
    problem = reseal(older, files, document, tmp_path / "older-edited.zip")
    assert problem is not None and problem.file == "findings/findings.csv"
    assert problem.message.startswith("row 2 (status) differs")
