"""``moodle-soc users``: add (password from stdin), list, disable, enable, reset, and the
one-line errors with their exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from moodle_soc.api.users import dashboard_login
from moodle_soc.evidence.store.store import open_store

CLI = Path(sys.executable).with_name("moodle-soc")


def run(*args: str, stdin: str = "", store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), "users", *args, "--store", str(store)],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        check=False,
    )


def test_users_are_added_listed_disabled_and_reset(tmp_path: Path) -> None:
    store = tmp_path / "evidence.sqlite"
    added = run("add", "ann", "--role", "manager", "--password-stdin", stdin="a long password\n",
                store=store)  # fmt: skip
    assert (added.returncode, added.stdout) == (0, "Added ann (manager).\n")
    listed = run("list", "--format", "json", store=store)
    assert json.loads(listed.stdout) == [
        {"username": "ann", "role": "manager", "sites": [], "period": None, "expires": None,
         "state": "active"}
    ]  # fmt: skip
    assert run("disable", "ann", store=store).returncode == 0
    assert "ann  manager  disabled  all sites" in run("list", store=store).stdout
    assert run("enable", "ann", store=store).returncode == 0
    reset = run("reset", "ann", "--password-stdin", stdin="another long one\n", store=store)
    assert reset.returncode == 0
    with open_store(str(store)) as evidence:
        assert dashboard_login(evidence, "ann", "another long one").user.username == "ann"
        with evidence.engine.connect() as connection:
            stored = connection.exec_driver_sql("SELECT password_hash FROM web_users")
            assert stored.scalar_one().startswith("$argon2id$")


def test_bad_input_fails_in_one_line_with_its_exit_code(tmp_path: Path) -> None:
    store = tmp_path / "evidence.sqlite"
    cases = [
        (("add", "ann", "--role", "owner", "--password-stdin"), "long enough pw", 2,
         "moodle-soc: error: --role 'owner' must be one of admin, manager, reviewer, auditor.\n"),
        (("add", "ann", "--role", "manager", "--password-stdin"), "short", 2,
         "moodle-soc: error: The password must be at least 12 characters long.\n"),
        (("add", "aud", "--role", "auditor", "--password-stdin"), "long enough pw", 2,
         "moodle-soc: error: An auditor needs --period FROM..TO (the audit period) and"
         " --expires.\n"),
        (("add", "aud", "--role", "auditor", "--period", "2026-01-01..2026-12-31", "--expires",
          "2027-01-31", "--sites", "nowhere", "--password-stdin"), "long enough pw", 7, None),
    ]  # fmt: skip
    for args, password, code, message in cases:
        done = run(*args, stdin=password + "\n", store=store)
        assert done.returncode == code, done.stderr
        assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
        if message:
            assert done.stderr == message
    missing = run("disable", "nobody", store=store)
    assert (missing.returncode, missing.stderr.count("\n")) == (7, 1)


def test_serve_refuses_a_missing_store_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(CLI), "serve", "--store", str(tmp_path / "none.sqlite")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 7
    assert done.stderr.startswith("moodle-soc: error: No evidence store at")


def test_serve_refuses_half_a_trust_page_setting(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(CLI), "serve", "--store", str(tmp_path / "none.sqlite"), "--trust-site", "Acme"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (
        2, "moodle-soc: error: Give both --trust-site and --trust-contact, or neither.\n"
    )  # fmt: skip
