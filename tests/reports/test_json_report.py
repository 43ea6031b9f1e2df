"""The JSON report is the model itself, and docs/json-format.md documents every field of it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

import moodle_soc.reports
from moodle_soc.models.frameworks import FrameworkScore, RequirementState
from moodle_soc.models.population import OVERRIDE_KEYS, ROW_KEYS, PopulationRef
from moodle_soc.models.run import (
    SCHEMA_VERSION,
    AuditRun,
    CategoryReadiness,
    CheckSummary,
    Incomplete,
    SiteInfo,
    Summary,
)
from moodle_soc.models.state import ObservedSetting, SiteState
from moodle_soc.reports import render, render_html, render_json
from moodle_soc.results import Severity, Status
from moodle_soc.site.db import QueryRecord

DOC = Path(__file__).parents[2] / "docs" / "json-format.md"
FINDING_KEYS = set(ROW_KEYS)
#: Keys a finding row may carry besides the required ones (schema 3.0).
OPTIONAL_FINDING_KEYS = {*OVERRIDE_KEYS, "exception"}
STORED_ONLY = {"populations"}  # the run's compressed populations: written as ``findings``
QUERY_KEYS = set(QueryRecord("p", "SELECT 1", {}, 1, 0.1, "0" * 64).as_dict())
# Each documented table, by its section heading, and the fields it must list exactly.
SECTIONS: dict[str, set[str]] = {
    "Top level: the audit run": set(AuditRun.model_fields) - STORED_ONLY | {"findings"},
    "site": set(SiteInfo.model_fields),
    "summary": set(Summary.model_fields),
    "readiness": set(CategoryReadiness.model_fields),
    "check": set(CheckSummary.model_fields),
    "finding": FINDING_KEYS | OPTIONAL_FINDING_KEYS,
    "population": set(PopulationRef.model_fields),
    "query": QUERY_KEYS,
    "site_state": set(SiteState.model_fields),
    "incomplete": set(Incomplete.model_fields),
    "observed setting": set(ObservedSetting.model_fields),
    "frameworks": set(FrameworkScore.model_fields),
    "requirement": set(RequirementState.model_fields),
}


def documented_fields() -> dict[str, set[str]]:
    fields: dict[str, set[str]] = {}
    heading = ""
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif match := re.match(r"\| `(\w+)` \|", line):
            fields.setdefault(heading, set()).add(match.group(1))
    return fields


def test_round_trips_to_the_same_run(audit_run: AuditRun) -> None:
    document = json.loads(render_json(audit_run))

    assert document["schema_version"] == SCHEMA_VERSION == "3.1"
    assert AuditRun.model_validate(document) == audit_run
    assert AuditRun.model_validate(document).findings == audit_run.findings


def test_findings_keep_the_run_order_and_carry_every_required_key(audit_run: AuditRun) -> None:
    findings = json.loads(render_json(audit_run))["findings"]

    assert [(f["check_id"], f["resource"]) for f in findings] == [
        (f.check_id, f.resource) for f in audit_run.findings
    ]
    assert all(FINDING_KEYS <= set(f) <= FINDING_KEYS | OPTIONAL_FINDING_KEYS for f in findings)


def test_a_row_carries_only_what_differs_from_its_check(audit_run: AuditRun) -> None:
    document = json.loads(render_json(audit_run))
    rows = {(f["check_id"], f["resource"]): f for f in document["findings"]}
    checks = {c["id"]: c for c in document["checks"]}

    # the run was built from findings, so its checks declare no command: the row names its own
    debug = rows[("security.debug_display_disabled", "setting:debugdisplay")]
    assert set(debug) == FINDING_KEYS | {"fix_command"}
    assert debug["fix_command"] == "php admin/cli/cfg.php --name=debugdisplay --set=0"
    assert checks["security.debug_display_disabled"]["fix_command"] is None
    assert checks["security.debug_display_disabled"]["remediation"] == (
        "Fix security.debug_display_disabled in Site administration."
    )
    admins = [f for key, f in rows.items() if key[0] == "access.site_admins_active"]
    assert [set(f) for f in admins] == [FINDING_KEYS, FINDING_KEYS]
    assert checks["access.site_admins_active"]["by_status"] == {
        "pass": 1, "fail": 1, "manual": 0, "not_applicable": 0, "error": 0, "accepted": 0,
    }  # fmt: skip
    accepted = rows[("webservices.tokens_restricted", "token:7")]
    assert accepted["exception"]["id"] == "EXC-0a1b2c3d"
    assert "title" not in accepted and "criteria" not in accepted


def test_the_findings_are_one_row_per_line_and_the_rest_indented(audit_run: AuditRun) -> None:
    lines = render_json(audit_run).splitlines()

    rows = [line for line in lines if line.startswith('    {"check_id":')]
    assert len(rows) == len(audit_run.findings)
    assert lines[0] == "{" and lines[-1] == "}"
    assert '  "schema_version": "3.1",' in lines


def test_statuses_and_severities_are_the_closed_sets(audit_run: AuditRun) -> None:
    findings = json.loads(render_json(audit_run))["findings"]

    assert {f["status"] for f in findings} == {s.value for s in Status}
    checks = json.loads(render_json(audit_run))["checks"]
    severities = {f["severity"] for f in findings if "severity" in f} | {
        c["severity"] for c in checks
    }
    assert severities <= {s.value for s in Severity}


def test_hostile_text_stays_data(audit_run: AuditRun) -> None:
    document = render_json(audit_run)

    rows = json.loads(document)["findings"]
    admin = next(f for f in rows if f["resource"] == "user:42")
    assert admin["observed"]["username"] == "<script>alert(1)</script>"
    assert document.endswith("}\n")


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_docs_list_exactly_the_model_fields(section: str) -> None:
    assert documented_fields().get(section, set()) == SECTIONS[section]


def test_docs_list_the_closed_sets() -> None:
    text = DOC.read_text(encoding="utf-8")

    for value in [s.value for s in Status] + [s.value for s in Severity]:
        assert f"`{value}`" in text
    assert f'`"{SCHEMA_VERSION}"`' in text


def test_docs_example_is_a_valid_run() -> None:
    example = re.search(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert example is not None

    run = AuditRun.model_validate(json.loads(example.group(1)))

    assert run.schema_version == SCHEMA_VERSION
    assert run.site_state is not None
    models = (run, run.site, run.summary, run.checks[0], run.site_state)
    for model in (*models, run.site_state.settings[0]):
        assert isinstance(model, BaseModel)
        assert set(model.model_dump()) == set(type(model).model_fields) - STORED_ONLY
    assert run.checks[0].population == PopulationRef.model_validate(
        json.loads(example.group(1))["checks"][0]["population"]
    )  # the example's hash is the real one
    assert run.findings[0].title == run.checks[0].title
    assert set(run.queries[0]) == QUERY_KEYS


def test_render_dispatches_by_format(audit_run: AuditRun) -> None:
    assert render(audit_run, "json") == render_json(audit_run)
    assert render(audit_run, "html") == render_html(audit_run)
    with pytest.raises(ValueError, match="Unknown report format"):
        render(audit_run, "xml")  # type: ignore[arg-type]


def test_public_api_is_complete() -> None:
    # the renderers are imported when first used (module __getattr__), so read them by name
    public = {
        name for name in moodle_soc.reports.__all__ if callable(getattr(moodle_soc.reports, name))
    }

    assert set(moodle_soc.reports.__all__) == public
    assert public == {"render", "render_json", "render_html", "render_terminal", "nagios_line"}
    with pytest.raises(AttributeError):
        moodle_soc.reports.render_pdf  # noqa: B018


def test_importing_reports_does_not_import_jinja2() -> None:
    code = "import sys, moodle_soc.reports; print('jinja2' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)

    assert result.stdout.strip() == "False", result.stderr


def test_an_incomplete_scan_lists_its_unreadable_tables_and_grants(audit_run: AuditRun) -> None:
    incomplete = Incomplete(
        unreadable_tables=("mdl_user",), grants=("GRANT SELECT ON mdl_user TO ro;",)
    )
    run = audit_run.model_copy(update={"incomplete": incomplete})

    document = json.loads(render_json(run))

    assert document["incomplete"] == {
        "unreadable_tables": ["mdl_user"],
        "grants": ["GRANT SELECT ON mdl_user TO ro;"],
    }
    assert json.loads(render_json(audit_run))["incomplete"] is None
    assert AuditRun.model_validate(document) == run
