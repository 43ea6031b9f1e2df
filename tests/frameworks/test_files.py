"""A framework file with mistakes gets one sentence naming the file, the line and the place."""

from __future__ import annotations

from pathlib import Path

import pytest

from moodle_soc.checks.registry import all_checks
from moodle_soc.errors import BadInputError, ExitCode
from moodle_soc.frameworks import load_framework_file

CHECK_IDS = frozenset(spec.id for spec in all_checks())

GOOD = """\
id: acme
name: ACME controls
version: "1"
categories:
  SEC: {name: Security}
requirements:
  - id: SEC-1
    category: SEC
    title: Strong passwords
    description: Passwords follow the policy.
    checks: [authentication.password_policy_enabled]
    manual_evidence: [access_review_record]
    owners: [client]
  - id: SEC-2
    category: SEC
    title: Tokens expire
    description: Web service tokens expire.
    checks:
      - webservices.tokens_expire
      - webservices.tokens_expired
    manual_evidence: []
    owners: [client]
"""


def problem(tmp_path: Path, text: str) -> str:
    path = tmp_path / "acme.yaml"
    path.write_text(text)
    with pytest.raises(BadInputError) as caught:
        load_framework_file(path, CHECK_IDS)
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    message = caught.value.message
    assert message.endswith(".") and "\n" not in message
    return message.replace(str(path), "acme.yaml")


def test_an_unknown_check_id_names_its_line(tmp_path: Path) -> None:
    assert problem(tmp_path, GOOD) == (
        "acme.yaml is not a valid framework file: line 20, requirements[SEC-2].checks[1]:"
        " unknown check id webservices.tokens_expired; see 'moodle-soc checks list'."
    )


def test_several_unknown_check_ids_are_counted(tmp_path: Path) -> None:
    text = GOOD.replace("authentication.password_policy_enabled", "authentication.nope")
    assert problem(tmp_path, text).endswith(
        "line 11, requirements[SEC-1].checks[0]: unknown check id authentication.nope;"
        " see 'moodle-soc checks list' (and 1 more unknown check)."
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "category: SEC\n    title: Tokens",
            "category: OPS\n    title: Tokens",
            "line 15, requirements[SEC-2].category: criterion SEC-2 references unknown"
            " category OPS",
            id="unknown_category",
        ),
        pytest.param(
            "[access_review_record]",
            "[access_review_recrod]",
            "line 12, requirements[SEC-1].manual_evidence[0]: criterion SEC-1 references"
            " unknown manual evidence access_review_recrod",
            id="unknown_evidence",
        ),
        pytest.param(
            "owners: [client]\n  - id: SEC-2",
            "owners: [vendor]\n  - id: SEC-2",
            "line 13, requirements[SEC-1].owners[0]: Input should be 'moodle_core',"
            " 'hosting' or 'client'",
            id="unknown_owner",
        ),
        pytest.param(
            "    title: Tokens expire\n",
            "",
            "line 14, requirements[SEC-2].title: Field required",
            id="missing_title",
        ),
        pytest.param(
            "id: SEC-2",
            "id: SEC-1",
            "line 14, requirements[SEC-1]: framework acme lists criteria SEC-1 more than once",
            id="duplicate_requirement",
        ),
        pytest.param(
            "id: acme",
            "id: ACME Corp",
            "line 1, id: String should match pattern",
            id="bad_framework_id",
        ),
    ],
)
def test_a_mistake_names_its_line_and_place(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    text = GOOD.replace("webservices.tokens_expired", "webservices.tokens_in_use")
    assert old in text
    message = problem(tmp_path, text.replace(old, new, 1))
    assert message.startswith(f"acme.yaml is not a valid framework file: {expected}")


def test_a_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    assert problem(tmp_path, GOOD.replace("owners: [client]", "owners: [client", 1)) == (
        "acme.yaml is not valid YAML: expected ',' or ']', but got ':' at line 14, column 7."
    )


def test_a_good_file_loads_with_requirements_as_criteria(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(GOOD.replace("webservices.tokens_expired", "webservices.tokens_in_use"))
    framework = load_framework_file(path, CHECK_IDS)
    assert [c.id for c in framework.criteria] == ["SEC-1", "SEC-2"]
    assert framework.coverage() == {"automated": 1, "partly": 1, "manual": 0}
