"""CLI start-up stays fast: registering commands must not import the heavy layers, and a scan
imports only what it uses (issue 9: half a small site's scan was start-up and imports)."""

import subprocess
import sys

from moodle_soc.synthetic.builder import SiteBuilder

HEAVY = ("sqlalchemy", "jinja2", "weasyprint", "openpyxl", "trestle", "psycopg", "pymysql",
         "celery", "kombu", "redis", "croniter", "fastapi", "starlette", "uvicorn",
         "argon2", "alembic", "cryptography", "pydantic", "yaml", "rich.progress")  # fmt: skip
#: The command modules: ``moodle-soc --help`` lists the commands without importing any of them,
#: and a command imports only its own (``moodle_soc.cli.commands``).
COMMAND_MODULES = tuple(f"moodle_soc.cli.{name}" for name in (
    "scan", "access", "changes", "checks", "evidence", "fleet", "frameworks", "logs", "monitor",
    "oscal", "package", "period", "plugins", "readiness", "review", "serve", "users"))  # fmt: skip
#: The command modules a scan uses: its own, and the --framework option it shares.
SCAN_MODULES = ("moodle_soc.cli.scan", "moodle_soc.cli.frameworks")
#: Never needed by a --no-store scan with a JSON report: the store, the other renderers, PDF,
#: spreadsheets, OSCAL, the dashboard, the fleet queue, the other commands, Rich (a quiet scan
#: prints one plain line), config.php's parser (the site is given with --db), and the web probe
#: (no --probe).
NOT_FOR_A_JSON_SCAN = ("jinja2", "weasyprint", "openpyxl", "trestle", "alembic", "celery", "kombu",
                       "redis", "fastapi", "starlette", "uvicorn", "cryptography", "argon2",
                       "rich", "moodle_soc.reports.html", "moodle_soc.reports.terminal",
                       "moodle_soc.evidence.store", "moodle_soc.site.phpconfig.lexer",
                       "moodle_soc.probes.http", "http.client",
                       *(m for m in COMMAND_MODULES if m not in SCAN_MODULES))  # fmt: skip


def _loaded_after(argv: list[str], watched: tuple[str, ...]) -> str:
    """Run the CLI with ``argv`` in a fresh interpreter; the watched modules it imported."""
    code = (
        "import sys\n"
        f"sys.argv = ['moodle-soc', *{argv!r}]\n"
        "from moodle_soc.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('LOADED=' + ','.join(m for m in {watched!r} if m in sys.modules), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stderr.rsplit("LOADED=", 1)[1].strip()


def test_importing_the_cli_loads_no_heavy_module():
    code = f"import sys, moodle_soc.cli; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "", f"imported at start-up: {loaded}"


def test_help_loads_no_heavy_module_and_no_command():
    assert _loaded_after(["--help"], HEAVY + COMMAND_MODULES) == ""


def test_one_command_loads_only_its_own_module():
    loaded = _loaded_after(["users", "--help"], COMMAND_MODULES)
    assert loaded == "moodle_soc.cli.users"


def test_the_help_summaries_are_the_ones_the_commands_declare():
    """``--help`` lists the commands from ``COMMANDS`` without building them: each summary
    there must be what the built command itself would show, in the same order as before."""
    from typer._click.utils import make_default_short_help

    from moodle_soc.cli.commands import COMMANDS, load

    assert list(COMMANDS)[:3] == ["scan", "demo", "changes"]
    for name, (_register, summary) in COMMANDS.items():
        command = load(name)
        assert command.name == name
        assert make_default_short_help(summary, 200) == command.get_short_help_str(200), name


def test_python_m_moodle_soc_is_the_cli():
    done = subprocess.run(
        [sys.executable, "-m", "moodle_soc", "--help"], capture_output=True, text=True, check=True
    )
    assert "scan" in done.stdout


def test_a_no_store_json_scan_loads_only_what_it_uses(tmp_path, builder: SiteBuilder):
    builder.user("student1")
    site = tmp_path / "site.sqlite"
    builder.sqlite_file(site).dispose()
    report = tmp_path / "report.json"
    argv = ["scan", "--db", f"sqlite:///{site}", "--no-store", "-q", "-f", "json"]
    argv += ["-o", str(report), "--fail-on", "none"]

    loaded = _loaded_after(argv, NOT_FOR_A_JSON_SCAN)

    assert report.stat().st_size > 1000  # the scan really ran and wrote its report
    assert loaded == "", f"a --no-store JSON scan imported: {loaded}"


def test_a_small_scan_runs_no_full_collection(tmp_path, builder: SiteBuilder):
    """Start-up's long-lived objects are not traversed again and again: with Python's default
    thresholds a fixture scan ran two full collections during its imports (about 50 ms)."""
    builder.user("student1")
    site = tmp_path / "site.sqlite"
    builder.sqlite_file(site).dispose()
    argv = ["scan", "--db", f"sqlite:///{site}", "--no-store", "-q", "-f", "json"]
    argv += ["-o", str(tmp_path / "report.json"), "--fail-on", "none"]
    code = (
        "import gc, sys\n"
        "full = []\n"
        "gc.callbacks.append(lambda phase, info: full.append(1)"
        " if phase == 'stop' and info['generation'] == 2 else None)\n"
        f"sys.argv = ['moodle-soc', *{argv!r}]\n"
        "from moodle_soc.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(f'FULL={len(full)} THRESHOLDS={gc.get_threshold()}', file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr.rsplit("FULL=", 1)[1].strip() == "0 THRESHOLDS=(700, 10, 100)"
