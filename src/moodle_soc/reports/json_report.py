"""The AuditRun as JSON: the machine-readable report, documented in ``docs/json-format.md``.

The document is the model's own JSON form, so the format cannot drift from what the other
reports show; ``schema_version`` changes whenever a field is renamed, removed or retyped. The
``findings`` array is written row by row from the run's populations, so a site with a hundred
thousand findings is never one object in memory. The checks' ``examples`` (kept in the stored
run so summaries need not open the populations) are left out: ``findings`` holds every row.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any, TextIO

from moodle_soc.models.frameworks import FrameworkScore
from moodle_soc.models.run import SCHEMA_VERSION, AuditRun


def render_json(run: AuditRun, frameworks: Sequence[FrameworkScore] = ()) -> str:
    """The run as indented UTF-8 JSON, ending with a newline (``write_json`` into a string)."""
    out = io.StringIO()
    write_json(run, out, frameworks)
    return out.getvalue()


def write_json(run: AuditRun, out: TextIO, frameworks: Sequence[FrameworkScore] = ()) -> None:
    """Write the run as indented UTF-8 JSON: the model's fields with ``findings`` (one row per
    line, check by check) after ``checks``; with ``frameworks`` (``scan --framework``), a
    ``frameworks`` list of their scores at the end."""
    document: dict[str, Any] = run.model_dump(mode="json")
    document["schema_version"] = SCHEMA_VERSION  # this shape, even for a run stored as 2.x
    for check in document["checks"]:
        check.pop("examples", None)  # the stored run's; the report's ``findings`` has every row
    if frameworks:
        document["frameworks"] = [score.model_dump(mode="json") for score in frameworks]
    keys: list[str] = []
    for key in document:
        keys.append(key)
        if key == "checks":
            keys.append("findings")
    out.write("{\n")
    for number, key in enumerate(keys, start=1):
        out.write(f"  {json.dumps(key)}: ")
        if key == "findings":
            _write_findings(run, out)
        else:
            text = json.dumps(document[key], indent=2, ensure_ascii=False)
            out.write(text.replace("\n", "\n  "))
        out.write(",\n" if number < len(keys) else "\n")
    out.write("}\n")


def _write_findings(run: AuditRun, out: TextIO) -> None:
    out.write("[")
    first = True
    for check in run.checks:
        for line in run.check_lines(check):
            out.write("\n    " if first else ",\n    ")
            out.write(line)
            first = False
    out.write("]" if first else "\n  ]")
