"""The AuditRun as JSON: the machine-readable report, documented in ``docs/json-format.md``.

The document is the model's own JSON form, so the format cannot drift from what the other
reports show; ``schema_version`` changes whenever a field is renamed, removed or retyped.
"""

from __future__ import annotations

import json

from moodle_soc.models.run import AuditRun


def render_json(run: AuditRun) -> str:
    """The run as indented UTF-8 JSON, findings in the run's order, ending with a newline."""
    return json.dumps(run.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
