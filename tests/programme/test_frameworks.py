"""``readiness --framework``: the programme's rule (checks in the latest scan, manual evidence
fresh) applied to every framework, on SQLite and PostgreSQL stores."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from moodle_soc import api
from moodle_soc.evidence.store.runs import store_run
from moodle_soc.evidence.store.store import EvidenceStore

AS_OF = "2026-11-29T12:00:00+00:00"


def _stored(store: EvidenceStore, scans: Any) -> str:
    record = None
    for run in scans.acme:
        record = store_run(store, run)
    assert record is not None
    return record.site_key


def test_soc2_through_the_framework_path_is_the_programmes_own_score(
    store: EvidenceStore, scans: Any
) -> None:
    key = _stored(store, scans)
    overview = api.readiness_programme(store, site=key, as_of=scans.acme[-1].audit_time)
    (soc2,) = api.readiness_frameworks(
        store, site=key, frameworks=["soc2"], as_of=scans.acme[-1].audit_time
    )
    assert soc2.categories == overview.categories


def test_iso_only_evidence_attached_meets_its_requirement(
    store: EvidenceStore, scans: Any, tmp_path: Path
) -> None:
    key = _stored(store, scans)
    when = scans.acme[-1].audit_time

    def clock() -> Any:
        (iso,) = api.readiness_frameworks(store, site=key, frameworks=["iso27001"], as_of=when)
        return next(c for c in iso.categories if c.category == "A.8")

    before = clock()
    proof = tmp_path / "ntp.txt"
    proof.write_text("chrony tracking: synchronised to pool.ntp.org")
    api.attach_evidence(
        store, proof, site=key, control="clock_synchronisation_configuration",
        effective_date=date(2026, 11, 20), collected_by="ops",
    )  # fmt: skip
    after = clock()
    assert after.met == before.met + 1  # A.8.17 Clock synchronization rests on it alone
    assert after.criteria == before.criteria == 34


def test_readiness_cli_shows_each_framework(cli: Any, acme_site_db: Path, tmp_path: Path) -> None:
    store = str(tmp_path / "evidence.sqlite")
    done = cli("scan", "--db", f"sqlite:///{acme_site_db}", "--as-of", AS_OF, "--store", store,
               "-q", "--format", "json", "-o", str(tmp_path / "run.json"))  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    base = ["readiness", "--site", "Acme", "--store", store, "--as-of", AS_OF]
    done = cli(*base, "--framework", "nist-800-53", "--format", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    (nist,) = document["frameworks"]
    assert [c["category"] for c in nist["categories"]][:3] == ["AC", "AU", "CM"]
    assert sum(c["criteria"] for c in nist["categories"]) == 62
    assert "categories" in document and "checklist" in document  # the programme itself
    text = cli(*base, "--framework", "iso27001")
    assert text.returncode == 0, text.stderr
    assert "ISO/IEC 27001:2022 Annex A (2022)" in text.stdout
    bad = cli(*base, "--framework", "iso9001")
    assert bad.returncode == 2 and "Unknown framework 'iso9001'" in bad.stderr
    # The HTML programme and the executive report carry each framework's table too.
    nist_score = "n/a" if nist["score"] is None else f"{nist['score']:.1f}%"
    page = tmp_path / "readiness.html"
    done = cli(*base, "--framework", "nist-800-53", "--format", "html", "-o", str(page))
    assert done.returncode == 0, done.stderr
    html = page.read_text(encoding="utf-8")
    assert 'id="framework-nist-800-53"' in html and nist_score in html
    assert html.count("<tr><td>AC ") == 1
    report = tmp_path / "report.html"
    done = cli("readiness", "report", "--site", "Acme", "--store", store, "--as-of", AS_OF,
               "--framework", "iso27001", "-o", str(report))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert 'id="framework-iso27001"' in report.read_text(encoding="utf-8")
    plain = tmp_path / "plain.html"
    assert cli(*base, "--format", "html", "-o", str(plain)).returncode == 0
    assert 'id="framework-' not in plain.read_text(encoding="utf-8")
