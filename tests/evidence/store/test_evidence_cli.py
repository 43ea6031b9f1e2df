"""``moodle-soc scan`` stores runs; ``moodle-soc evidence`` lists, shows, diffs, verifies, attaches.

The scans and the exit codes that matter (verify OK / TAMPERED, attach refused, --no-store,
a signed scan) go through the installed command in a subprocess; the many read-only variations
run the same Typer app in-process (``invoke``), to keep the suite fast. The site is the
synthetic Acme site written by ``moodle-soc demo --site-db``, scanned three times.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from moodle_soc.evidence.store.store import open_store
from moodle_soc.evidence.store.verify import verify_store

Cli = Callable[..., subprocess.CompletedProcess[str]]
AS_OF = ("2026-11-01T09:00:00Z", "2026-11-15T09:00:00Z", "2026-11-29T09:00:00Z")
WWWROOT = "https://acme.example.test"
EXIT_USAGE, EXIT_BAD_INPUT, EXIT_EVIDENCE_INVALID = 2, 7, 8


def scan_args(site_db: Path, as_of: str, *extra: str) -> list[str]:
    return [
        "scan", "--db", f"sqlite:///{site_db}", "--wwwroot", WWWROOT, "--as-of", as_of,
        "--format", "json", *extra,
    ]  # fmt: skip


@dataclass(frozen=True)
class Scanned:
    store: Path
    site_db: Path
    outputs: list[subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def scanned(
    acme_site_db: Path, moodle_soc: Cli, tmp_path_factory: pytest.TempPathFactory
) -> Scanned:
    """A store holding three scans of the synthetic site (records 1, 2, 3)."""
    where = tmp_path_factory.mktemp("scanned")
    store = where / "evidence.sqlite"
    outputs = [
        moodle_soc(
            *scan_args(acme_site_db, as_of, "--store", str(store), "-o", f"r{n}.json"), cwd=where
        )
        for n, as_of in enumerate(AS_OF)
    ]
    for done in outputs:
        assert done.returncode == 0, done.stderr
    return Scanned(store, acme_site_db, outputs)


@pytest.fixture
def copy_of(scanned: Scanned, tmp_path: Path) -> Path:
    """A private copy of the scanned store, for tests that change it."""
    target = tmp_path / "copy" / "evidence.sqlite"
    target.parent.mkdir()
    for suffix in ("", "-wal"):
        source = Path(f"{scanned.store}{suffix}")
        if source.exists():
            shutil.copyfile(source, f"{target}{suffix}")
    return target


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """``moodle-soc ARGS`` in-process (Typer's runner), in the test's own directory."""
    from typer.testing import CliRunner

    from moodle_soc.cli.main import app

    monkeypatch.chdir(tmp_path)

    def run(*args: str, env: dict[str, str | None] | None = None) -> Done:
        result = CliRunner().invoke(app, list(args), env={"COLUMNS": "250", **(env or {})})
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception  # a traceback: the real command would print one too
        return Done(result.exit_code, result.stdout, result.stderr)

    return run  # type: ignore[return-value]


def records_json(cli: Cli, store: Path, *extra: str) -> list[dict[str, object]]:
    done = cli("evidence", "list", "--store", str(store), "--format", "json", *extra)
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, object]] = json.loads(done.stdout)
    return rows


def clean_failure(done: Done | subprocess.CompletedProcess[str], code: int) -> None:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr


# --- scan stores runs -------------------------------------------------------------------------


def test_each_scan_is_stored_and_says_where(scanned: Scanned) -> None:
    for number, done in enumerate(scanned.outputs, start=1):
        assert f"Stored run as evidence record {number} (" in done.stderr
        assert str(scanned.store) in done.stderr


def test_list_as_table_and_json(scanned: Scanned, invoke: Cli) -> None:
    table = invoke("evidence", "list", "--store", str(scanned.store))
    assert table.returncode == 0, table.stderr
    assert "3 evidence records in" in table.stdout
    assert table.stdout.count("Acme Academy") == 3
    rows = records_json(invoke, scanned.store)
    assert [r["seq"] for r in rows] == [1, 2, 3]
    assert [r["index"] for r in rows] == [0, 1, 2]
    assert {r["kind"] for r in rows} == {"run"} and {r["site"] for r in rows} == {"Acme Academy"}
    assert [str(r["collected_at"]) for r in rows] == [t.replace("Z", "+00:00") for t in AS_OF]
    assert not any(r["signed"] for r in rows)
    for row in rows:
        assert str(row["record_hash"])[:12] in table.stdout


def test_list_filters(scanned: Scanned, invoke: Cli) -> None:
    store = str(scanned.store)
    middle = records_json(invoke, scanned.store, "--period", "2026-11-10..2026-11-15")
    assert [r["seq"] for r in middle] == [2]
    old = records_json(invoke, scanned.store, "--from", "2026-11-10", "--to", "2026-11-15")
    assert old == middle  # the older spelling still works, hidden from --help
    assert [r["seq"] for r in records_json(invoke, scanned.store, "--from", "2026-11-10")] == [2, 3]
    assert records_json(invoke, scanned.store, "--kind", "attachment") == []
    assert len(records_json(invoke, scanned.store, "--site", WWWROOT)) == 3
    clean_failure(invoke("evidence", "list", "--store", store, "--from", "11/10"), EXIT_USAGE)
    clean_failure(invoke("evidence", "list", "--store", store, "--site", "x"), EXIT_BAD_INPUT)


def test_list_shows_backdated_scans_as_reconstructed(scanned: Scanned, invoke: Cli) -> None:
    """The fixture's scans ran today with --as-of in November: recorded days late."""
    rows = records_json(invoke, scanned.store)
    assert all(r["reconstructed"] and str(r["recorded_at"]) > str(r["collected_at"]) for r in rows)
    table = invoke("evidence", "list", "--store", str(scanned.store))
    assert table.stdout.count("reconstructed") == 4  # three rows and the note under them
    assert "3 record(s) reconstructed: recorded more than 6 h after their audit time" in (
        " ".join(table.stdout.split())
    )
    policy = Path.cwd() / "moodle-soc.yaml"
    policy.write_text("policy:\n  max_recording_delay_hours: 1000000\n", encoding="utf-8")
    assert not any(r["reconstructed"] for r in records_json(invoke, scanned.store))
    help_text = invoke("evidence", "list", "--help").stdout
    assert "--period" in help_text and "--from" not in help_text


def test_show_a_run_as_a_report_and_as_json(scanned: Scanned, invoke: Cli) -> None:
    store = str(scanned.store)
    terminal = invoke("evidence", "show", "1", "--store", store)
    assert terminal.returncode == 0, terminal.stderr
    assert "Acme Academy" in terminal.stdout and WWWROOT in terminal.stdout
    as_json = invoke("evidence", "show", "1", "--store", store, "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    shown = json.loads(as_json.stdout)
    assert shown["record"]["seq"] == 1 and shown["record"]["chain_index"] == 0
    assert shown["record"]["prev_hash"] == "0" * 64
    assert shown["payload"]["site"]["name"] == "Acme Academy"
    assert shown["payload"]["audit_time"] == AS_OF[0]
    # The record, not the findings: so the reports' "… and N more" line names CSV and XLSX
    # (tests/reports/test_terminal.py), the formats that list every finding here too.
    assert "findings" not in shown["payload"] and shown["payload"]["checks"][0]["population"]
    prefix = shown["record"]["record_hash"][:10]
    assert (
        json.loads(invoke("evidence", "show", prefix, "--store", store, "-f", "json").stdout)
        == shown
    )
    clean_failure(invoke("evidence", "show", "99", "--store", store), EXIT_BAD_INPUT)


def test_diff_two_runs(scanned: Scanned, invoke: Cli) -> None:
    store = str(scanned.store)
    done = invoke("evidence", "diff", "1", "3", "--store", store)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("From 2026-11-01 09:00 to 2026-11-29 09:00: ")
    changes = json.loads(
        invoke("evidence", "diff", "1", "3", "--store", store, "-f", "json").stdout
    )
    assert set(changes) == {"new", "fixed", "changed"}
    same = json.loads(invoke("evidence", "diff", "3", "3", "--store", store, "-f", "json").stdout)
    assert same == {"new": [], "fixed": [], "changed": []}


def test_verify_ok_and_expected_heads(scanned: Scanned, cli: Cli, invoke: Cli) -> None:
    store = str(scanned.store)
    done = cli("evidence", "verify", "--store", store)
    assert done.returncode == 0, done.stderr
    assert "OK: 3 records in 1 chain(s) verified (0 signed, 0 attachments)" in done.stdout
    rows = records_json(invoke, scanned.store)
    head, first = str(rows[-1]["record_hash"]), str(rows[0]["record_hash"])
    assert f"head {head}" in done.stdout
    with_head = invoke("evidence", "verify", "--store", store, "--expect-head", head)
    assert with_head.returncode == 0, with_head.stderr
    older = invoke("evidence", "verify", "--store", store, "--expect-head", first[:16])
    assert older.returncode == 0 and "no longer a chain head" in older.stderr
    unknown = cli("evidence", "verify", "--store", store, "--expect-head", "f" * 64)
    clean_failure(unknown, EXIT_EVIDENCE_INVALID)
    assert "TAMPERED: expected chain head ffffffffffffffff is not in the store" in unknown.stderr


def test_verify_names_the_tampered_record_and_exits_8(copy_of: Path, cli: Cli) -> None:
    connection = sqlite3.connect(copy_of, isolation_level=None)
    connection.execute("DROP TRIGGER evidence_records_no_update")
    connection.execute(
        "UPDATE evidence_records SET payload = replace(payload, '\"pass\"', '\"PASS\"')"
        " WHERE seq = 2"
    )
    connection.close()
    done = cli("evidence", "verify", "--store", str(copy_of))
    clean_failure(done, EXIT_EVIDENCE_INVALID)
    assert "TAMPERED: record 2 (chain " in done.stderr
    assert "#1): payload was altered" in done.stderr
    assert "OK:" not in done.stdout


def test_verify_detects_a_truncated_chain_with_the_recorded_head(
    copy_of: Path, invoke: Cli
) -> None:
    head = str(records_json(invoke, copy_of)[-1]["record_hash"])
    connection = sqlite3.connect(copy_of, isolation_level=None)
    connection.execute("DROP TRIGGER evidence_records_no_delete")
    connection.execute("DELETE FROM evidence_records WHERE seq = 3")
    connection.close()
    assert invoke("evidence", "verify", "--store", str(copy_of)).returncode == 0  # a valid prefix
    done = invoke("evidence", "verify", "--store", str(copy_of), "--expect-head", head)
    clean_failure(done, EXIT_EVIDENCE_INVALID)


# --- attach --------------------------------------------------------------------------------------


def test_attach_a_file_and_refuse_unknown_controls(
    copy_of: Path, cli: Cli, invoke: Cli, tmp_path: Path
) -> None:
    document = tmp_path / "restore-test.pdf"
    document.write_bytes(b"%PDF-1.4 restore test passed\n")
    store = ["--store", str(copy_of), "--site", "Acme Academy"]
    common = [*store, "--effective-date", "2026-09-30"]
    unknown = cli("evidence", "attach", str(document), "--control", "CC99.9", *common)
    clean_failure(unknown, EXIT_BAD_INPUT)
    assert "Unknown control 'CC99.9'" in unknown.stderr
    bad_date = ["--effective-date", "30/09/2026"]
    clean_failure(
        invoke("evidence", "attach", str(document), "--control", "A1.3", *store, *bad_date),
        EXIT_USAGE,
    )
    missing = invoke("evidence", "attach", str(tmp_path / "no.pdf"), "--control", "A1.3", *common)
    clean_failure(missing, EXIT_BAD_INPUT)
    done = cli(
        "evidence", "attach", str(document), "--control", "A1.3", "--by", "j.auditor", *common
    )
    assert done.returncode == 0, done.stderr
    assert "Attached restore-test.pdf as record 4" in done.stdout
    (row,) = records_json(invoke, copy_of, "--kind", "attachment")
    assert row["effective_date"] == "2026-09-30" and row["index"] == 3
    shown = json.loads(
        invoke("evidence", "show", "4", "--store", str(copy_of), "-f", "json").stdout
    )
    assert shown["payload"]["control"] == "A1.3"
    assert shown["payload"]["collected_by"] == "j.auditor"
    assert shown["payload"]["filename"] == "restore-test.pdf"
    verified = invoke("evidence", "verify", "--store", str(copy_of))
    assert "OK: 4 records in 1 chain(s) verified (0 signed, 1 attachments)" in verified.stdout


# --- where runs go ------------------------------------------------------------------------------


def test_no_store_records_nothing(acme_site_db: Path, cli: Cli, tmp_path: Path) -> None:
    store = tmp_path / "untouched.sqlite"
    args = scan_args(acme_site_db, AS_OF[0], "--store", str(store), "--no-store", "-o", "r.json")
    done = cli(*args, env={"MOODLE_SOC_STORE": str(tmp_path / "env.sqlite")})
    assert done.returncode == 0, done.stderr
    assert "Stored run" not in done.stderr
    assert not store.exists() and not (tmp_path / "env.sqlite").exists()


def test_the_store_comes_from_the_option_environment_or_moodle_soc_yaml(
    copy_of: Path, invoke: Cli, tmp_path: Path
) -> None:
    missing = invoke("evidence", "list", "-f", "json")  # conftest's store was never created
    assert missing.returncode == EXIT_BAD_INPUT and "No evidence store at" in missing.stderr
    env = {"MOODLE_SOC_STORE": str(copy_of)}
    assert len(json.loads(invoke("evidence", "list", "-f", "json", env=env).stdout)) == 3
    (tmp_path / "moodle-soc.yaml").write_text(f"store: {copy_of}\n")
    no_env: dict[str, str | None] = {"MOODLE_SOC_STORE": None}
    assert len(json.loads(invoke("evidence", "list", "-f", "json", env=no_env).stdout)) == 3
    other = tmp_path / "other.sqlite"
    listed = invoke("evidence", "list", "-f", "json", "--store", str(other), env=no_env)
    assert listed.returncode == EXIT_BAD_INPUT  # --store wins over moodle-soc.yaml ...
    assert f"No evidence store at {other}" in listed.stderr
    assert not other.exists()  # ... and reading never creates a store


def test_signed_scans(
    acme_site_db: Path, copy_of: Path, cli: Cli, invoke: Cli, tmp_path: Path
) -> None:
    key = tmp_path / "signing.pem"
    assert invoke("evidence", "keygen", str(key)).returncode == 0
    store = ["--store", str(copy_of)]
    done = cli(*scan_args(acme_site_db, AS_OF[2], *store, "--sign-key", str(key), "-o", "r.json"))
    assert done.returncode == 0, done.stderr
    assert [r["signed"] for r in records_json(invoke, copy_of)] == [False, False, False, True]
    verified = invoke("evidence", "verify", *store)
    assert verified.returncode == 0, verified.stderr
    assert "OK: 4 records in 1 chain(s) verified (1 signed, 0 attachments)" in verified.stdout
    no_key = ["--sign-key", str(tmp_path / "none.pem")]
    clean_failure(invoke(*scan_args(acme_site_db, AS_OF[0], *store, *no_key)), EXIT_BAD_INPUT)


# --- secrets --------------------------------------------------------------------------------------

SECRET_COLUMNS = {
    "user": "password",
    "external_tokens": "token",
    "tool_mfa": "secret",
    "sessions": "sid",
    "payment_gateways": "config",
}


def site_secrets(site_db: Path) -> list[str]:
    """Every secret value the generator wrote into the synthetic site (JSON config unpacked)."""
    connection = sqlite3.connect(f"file:{site_db}?mode=ro", uri=True)
    try:
        found: list[str] = []
        for table, column in SECRET_COLUMNS.items():
            values = [
                row[0] for row in connection.execute(f"SELECT {column} FROM mdl_{table}") if row[0]
            ]
            assert values, f"the synthetic site has no mdl_{table}.{column} values"
            if column == "config":
                values = [str(v) for config in values for k, v in json.loads(config).items()
                          if k in ("clientid", "secret")]  # fmt: skip
            found += values
    finally:
        connection.close()
    return found


def test_no_secret_of_the_site_enters_the_store(scanned: Scanned) -> None:
    secrets = site_secrets(scanned.site_db)
    assert len(secrets) > 40
    stored = b"".join(
        Path(f"{scanned.store}{suffix}").read_bytes()
        for suffix in ("", "-wal")
        if Path(f"{scanned.store}{suffix}").exists()
    )
    with open_store(str(scanned.store), create=True) as store:
        assert verify_store(store).records == 3
        payloads = "".join(store.payload_text(r) or "" for r in store.records())
    leaked = []
    for secret in secrets:
        if secret.startswith("$6$"):  # crypt: "$6$rounds=10000$" is the format, not the secret
            secret = secret.split("$", 3)[-1]
        # Whole values, and any 16-character piece of them (a truncated token is still a leak).
        pieces = {secret} | {secret[i : i + 16] for i in range(0, max(1, len(secret) - 15), 4)}
        if any(
            piece.encode() in stored or piece in payloads for piece in pieces if len(piece) >= 12
        ):
            leaked.append(secret[:6] + "…")
    assert leaked == []


def test_verify_on_an_empty_store_verified_nothing_and_says_so(invoke: Cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite"
    with open_store(str(empty), create=True):
        pass
    done = invoke("evidence", "verify", "--store", str(empty))
    assert done.returncode == 8 and "EMPTY: no records to verify" in done.stderr
    allowed = invoke("evidence", "verify", "--store", str(empty), "--allow-empty")
    assert allowed.returncode == 0 and "OK: 0 records" in allowed.stdout
    typo = invoke("evidence", "verify", "--store", str(tmp_path / "evidnce.sqlite"))
    assert typo.returncode == EXIT_BAD_INPUT and "No evidence store at" in typo.stderr
    assert not (tmp_path / "evidnce.sqlite").exists()


# --- naming the site: one --site rule, the only site by default --------------------------------


def test_commands_default_to_the_store_s_only_site(scanned: Scanned, invoke: Cli) -> None:
    store = ["--store", str(scanned.store)]
    period = ["--period", "2026-11-01..2026-11-30", "--format", "json"]
    without = invoke("period", "report", *store, *period)
    assert without.returncode == 0, without.stderr
    assert json.loads(without.stdout)["site_name"] == "Acme Academy"
    for site in ("Acme Academy", "acme.example.test", WWWROOT + "/", "acme"):
        named = invoke("period", "report", *store, *period, "--site", site)
        assert named.returncode == 0, (site, named.stderr)
        assert _without_clock(named.stdout) == _without_clock(without.stdout)


def _without_clock(report: str) -> dict[str, object]:
    document: dict[str, object] = json.loads(report)
    document.pop("generated_at")
    return document


def test_a_store_with_two_sites_asks_which_in_one_line(copy_of: Path, invoke: Cli) -> None:
    from moodle_soc.models.records import SiteRef

    other = SiteRef(key="f" * 32 + "other.test", name="Other College", wwwroot="https://other.test")
    with open_store(str(copy_of)) as evidence:
        evidence.append(
            other, "attachment", {"note": "x"}, collected_at=datetime(2026, 11, 2, tzinfo=UTC)
        )
    store = ["--store", str(copy_of)]
    for command in (
        ("period", "report", "--period", "2026-11-01..2026-11-30"),
        ("evidence", "export", "--period", "2026-11-01..2026-11-30", "-o", "p.zip"),
        ("readiness",),
        ("exception", "list"),
    ):
        done = invoke(*command, *store)
        clean_failure(done, EXIT_BAD_INPUT)
        assert len(done.stderr.splitlines()) == 1, done.stderr
        assert "holds 2 sites; give --site: Acme Academy (" in done.stderr, command
        assert "Other College (ffffffffffff, https://other.test)." in done.stderr
    missed = invoke(
        "period", "report", *store, "--period", "2026-11-01..2026-11-30", "--site", "x.y"
    )
    clean_failure(missed, EXIT_BAD_INPUT)
    assert "Site 'x.y' matches no site in" in missed.stderr and "Other College (" in missed.stderr
    listed = records_json(invoke, copy_of, "--site", "other.test")
    assert [row["site"] for row in listed] == ["Other College"]
    assert len(records_json(invoke, copy_of)) == 4  # listing: every site unless told one
