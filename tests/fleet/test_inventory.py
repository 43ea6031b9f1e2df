"""sites.yaml: validated as a whole, every problem with its line; no password in the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from moodle_soc.errors import ExitCode
from moodle_soc.fleet.inventory import SitesFileError, load_fleet, parse_fleet

GOOD = """\
defaults:
  schedule: "0 3 * * *"
  timeout: 600
  client: hosting
policy:
  dormant_days: 60
sites:
  - name: acme-prod
    config: acme/config.php
    client: acme
    host: eu-1
    tags: [gold]
    policy: {min_password_length: 14}
  - name: acme-staging
    db: postgresql://auditor@db.example.org/acme_staging
    prefix: mdl_
    password_env: ACME_STAGING_DB
    client: acme
    environment: staging
    pairs_with: acme-prod
    schedule: "30 4 * * 1"
  - name: own
    db: mariadb://auditor@db/own
"""


def test_a_good_file_resolves_defaults_policy_and_paths(tmp_path: Path) -> None:
    path = tmp_path / "sites.yaml"
    path.write_text(GOOD)
    fleet = load_fleet(path)
    prod, staging, own = fleet.sites
    assert prod.config == str(tmp_path / "acme" / "config.php")
    assert prod.policy == {"dormant_days": 60, "min_password_length": 14}
    assert prod.resolved_policy().min_password_length == 14
    assert (prod.schedule, prod.timeout, prod.statement_timeout) == ("0 3 * * *", 600, 120)
    assert staging.schedule == "30 4 * * 1" and staging.pairs_with == "acme-prod"
    assert own.client == "hosting" and own.environment == "production"
    assert [s.name for s in fleet.select(["acme"])] == ["acme-prod", "acme-staging"]
    assert [s.name for s in fleet.select(["gold", "own"])] == ["acme-prod", "own"]


def test_every_problem_is_reported_with_its_line() -> None:
    text = """\
sites:
  - name: one
    db: sqlite:///x.sqlite
    schedule: "every day"
  - name: one
    config: a.php
    db: mysql://u@h/d
    environment: prod
  - name: two
    db: postgresql://u@h/d
    policy:
      min_password_length: short
      no_such_threshold: 3
    pairs_with: nowhere
    colour: blue
"""
    with pytest.raises(SitesFileError) as caught:
        parse_fleet(text, "sites.yaml")
    problems = caught.value.problems
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    expected = {
        4: "sites[0].schedule",
        8: "sites[1].environment",
        15: "sites[2].colour",
    }
    for line, where in expected.items():
        assert any(p.startswith(f"sites.yaml:{line}: {where}") for p in problems), problems


def test_cross_field_problems_name_their_lines() -> None:
    text = """\
sites:
  - name: one
    db: sqlite:///x.sqlite
  - name: one
    config: a.php
    db: mysql://u@h/d
  - name: two
    db: postgresql://u@h/d
    policy:
      min_password_length: short
      no_such_threshold: 3
    pairs_with: nowhere
"""
    with pytest.raises(SitesFileError) as caught:
        parse_fleet(text, "sites.yaml")
    problems = caught.value.problems
    assert "sites.yaml:4: sites[1].name: site name 'one' is used more than once" in problems
    assert any(p.startswith("sites.yaml:5: sites[1].config: give exactly one") for p in problems)
    assert any(p.startswith("sites.yaml:10: sites[2].policy.min_password_length") for p in problems)
    assert any(p.startswith("sites.yaml:11: sites[2].policy.no_such_threshold") for p in problems)
    assert any(p.startswith("sites.yaml:12: sites[2].pairs_with") for p in problems)
    assert "sites.yaml has 6 problems" in caught.value.message


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("sites:\n  - name: a\n    db: sqlite:///x\n    password: hunter2\n", 4, "passwords never"),
        (
            "sites:\n  - name: a\n    db: postgresql://u:hunter2@h/d\n",
            3,
            "the URL holds a password",
        ),
        (
            "alerts:\n  email:\n    smtp_host: h\n    from: a@b\n    to: [c@d]\n"
            "    password: x\nsites:\n  - {name: a, db: 'sqlite:///x'}\n",
            6,
            "passwords never",
        ),
    ],
    ids=["password-key", "password-in-url", "smtp-password"],
)
def test_a_password_in_the_file_is_refused(text: str, line: int, words: str) -> None:
    with pytest.raises(SitesFileError) as caught:
        parse_fleet(text, "sites.yaml")
    assert any(p.startswith(f"sites.yaml:{line}:") and words in p for p in caught.value.problems)
    assert "hunter2" not in caught.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sites:\n  - name: a\n    db: [unclosed\n", "sites.yaml:4: not valid YAML"),
        ("sites:\n  - name: a\n    name: b\n    db: x\n", "sites.yaml:3: duplicate key 'name'"),
        ("- just\n- a list\n", "sites.yaml:1: the file must be a mapping"),
        ("sites: []\n", "sites.yaml:1: sites: Tuple should have at least 1 item"),
    ],
    ids=["syntax", "duplicate-key", "not-a-mapping", "no-sites"],
)
def test_unreadable_files_name_the_line(text: str, expected: str) -> None:
    with pytest.raises(SitesFileError) as caught:
        parse_fleet(text, "sites.yaml")
    assert caught.value.problems[0].startswith(expected), caught.value.problems


def test_unknown_only_names_are_refused() -> None:
    fleet = parse_fleet("sites:\n  - {name: a, db: 'sqlite:///x'}\n")
    with pytest.raises(Exception, match="--only 'b' names no site"):
        fleet.select(["b"])


def test_a_missing_password_variable_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    fleet = parse_fleet("sites:\n  - {name: a, db: 'sqlite:///x', password_env: NOPE_PW}\n")
    monkeypatch.delenv("NOPE_PW", raising=False)
    with pytest.raises(Exception, match=r"NOPE_PW .* is not set on this machine"):
        fleet.sites[0].password()
    monkeypatch.setenv("NOPE_PW", "s3cret")
    assert fleet.sites[0].password() == "s3cret"
