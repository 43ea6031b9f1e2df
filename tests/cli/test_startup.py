"""CLI start-up stays fast: registering commands must not import the heavy layers."""

import subprocess
import sys

HEAVY = ("sqlalchemy", "jinja2", "weasyprint", "openpyxl", "trestle", "psycopg", "pymysql",
         "celery", "kombu", "redis", "croniter", "fastapi", "starlette", "uvicorn",
         "argon2")  # fmt: skip


def test_importing_the_cli_loads_no_heavy_module():
    code = f"import sys, moodle_soc.cli; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "", f"imported at start-up: {loaded}"
