"""Scoping: the answers decide the SOC 2 categories and SOC 1; bad answer files are refused."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from moodle_soc import api
from moodle_soc.errors import BadInputError
from moodle_soc.evidence.store.runs import store_run
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.programme.scope import answers_from, decide_scope, read_answers

T0 = datetime(2026, 11, 29, 12, tzinfo=UTC)


def answers(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "hosted_for_customers": True,
        "availability_commitments": False,
        "confidential_data": True,
        "processes_transactions": False,
        "personal_information": True,
        "takes_payments": False,
        "revenue_recognition": False,
        "erp_integration": False,
        "customers_under_financial_audit": False,
        "hosting_model": "self-hosted",
        "report_type": "type2",
        "period": "2026-01-01..2026-12-31",
    }
    return {**base, **changes}


def decided(data: dict[str, Any], payments: int | None = None, site_read: bool = False) -> Any:
    parsed = answers_from(data, "answers.yaml", payments, site_read=site_read)
    return decide_scope(parsed, payment_records=payments, decided_by="cco", decided_at=T0)


def test_security_is_always_in_scope_and_each_answer_adds_its_category() -> None:
    scope = decided(answers())
    assert scope.soc2_categories == ("CC", "C", "P") and scope.soc1 is False
    everything = decided(
        answers(availability_commitments=True, processes_transactions=True, confidential_data=True)
    )
    assert everything.soc2_categories == ("CC", "A", "C", "PI", "P")
    nothing = decided(answers(confidential_data=False, personal_information=False))
    assert nothing.soc2_categories == ("CC",)
    assert nothing.decision("C").reason == (  # type: ignore[union-attr]
        "Out of scope: the answers say confidential_data is false."
    )


@pytest.mark.parametrize(
    "key",
    ["takes_payments", "revenue_recognition", "erp_integration", "customers_under_financial_audit"],
)
def test_any_financial_answer_makes_soc1_apply(key: str) -> None:
    scope = decided(answers(**{key: True}))
    assert scope.soc1 is True
    assert scope.decision("SOC1").reason.startswith("SOC 1 applies: ")  # type: ignore[union-attr]


def test_the_sites_payment_records_answer_takes_payments_when_the_file_leaves_it_out() -> None:
    data = answers()
    del data["takes_payments"]
    assert decided(data, payments=4, site_read=True).soc1 is True
    assert decided(data, payments=0, site_read=True).soc1 is False
    assert decided(data, payments=None, site_read=True).soc1 is False  # no payment subsystem
    with pytest.raises(BadInputError, match="takes_payments is missing and the site was not read"):
        decided(data)


def test_an_answer_contradicting_the_payment_records_is_kept_and_noted() -> None:
    scope = decided(answers(takes_payments=False), payments=3, site_read=True)
    assert scope.soc1 is False
    assert scope.decision("SOC1").reason.endswith(  # type: ignore[union-attr]
        "Note: the site holds 3 payment records although the answers say it takes no payments."
    )


def test_a_type1_report_gives_its_one_date() -> None:
    scope = decided(answers(report_type="type1", period="2026-12-31"))
    assert (scope.answers.period_start, scope.answers.period_end) == (
        date(2026, 12, 31),
        date(2026, 12, 31),
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"colour": "blue"}, "answers.yaml: unknown key 'colour'; the keys are"),
        ({"confidential_data": "yes"}, "answers.yaml: confidential_data must be true or false,"),
        ({"hosting_model": "cloud"}, "hosting_model must be one of self-hosted,"),
        ({"report_type": "type3"}, "report_type must be one of type1, type2, not 'type3'."),
        ({"period": "2026"}, "period '2026' is not FROM..TO, such as 2026-01-01..2026-12-31."),
        ({"period": "2026-12-31..2026-01-01"}, "ends before it starts."),
        ({"period": "2026-12-31"}, "a Type II report covers a period: give FROM..TO"),
    ],
)
def test_bad_answers_are_refused_in_one_sentence(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(BadInputError, match=message.replace("(", r"\(").replace(".", r"\.")):
        decided(answers(**changes))


def test_a_missing_answer_is_named() -> None:
    data = answers()
    del data["hosting_model"]
    with pytest.raises(BadInputError, match=r"answers\.yaml: hosting_model is missing"):
        decided(data)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [1,\n", "is not valid YAML at line"),
        ("- 1\n- 2\n", "must be a YAML mapping of answers."),
    ],
)
def test_unreadable_answer_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadInputError, match=message):
        read_answers(path)
    with pytest.raises(BadInputError, match="Cannot read answers file"):
        read_answers(tmp_path / "absent.yaml")


def test_the_scope_is_stored_as_evidence_and_the_latest_is_in_force(
    store: EvidenceStore, scans: Any, tmp_path: Path
) -> None:
    store_run(store, scans.acme[-1])
    path = tmp_path / "answers.yaml"
    path.write_text("\n".join(f"{k}: {v}" for k, v in answers().items()).replace("True", "true")
                    .replace("False", "false"), encoding="utf-8")  # fmt: skip
    first = api.decide_readiness_scope(store, answers=path, site="Acme", decided_by="cco", now=T0)
    assert first.soc2_categories == ("CC", "C", "P")
    later = api.decide_readiness_scope(
        store,
        answers=answers(availability_commitments=True),
        site="Acme",
        decided_by="ciso",
        now=T0.replace(hour=13),
    )
    assert api.readiness_scope(store, site="Acme") == later
    kinds = [r.kind for r in store.records()]
    assert kinds == ["run", "readiness_scope", "readiness_scope"]
