"""The AuditRun as JSON: the machine-readable report, documented in ``docs/json-format.md``.

The document is the model's own JSON form, so the format cannot drift from what the other
reports show; ``schema_version`` changes whenever a field is renamed, removed or retyped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from moodle_soc.models.frameworks import FrameworkScore
from moodle_soc.models.run import AuditRun


def render_json(run: AuditRun, frameworks: Sequence[FrameworkScore] = ()) -> str:
    """The run as indented UTF-8 JSON, findings in the run's order, ending with a newline;
    with ``frameworks`` (``scan --framework``), a ``frameworks`` list of their scores."""
    document = run.model_dump(mode="json")
    if frameworks:
        document["frameworks"] = [score.model_dump(mode="json") for score in frameworks]
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
