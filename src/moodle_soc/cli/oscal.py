"""``moodle-soc evidence oscal``: a period's scans as NIST OSCAL assessment results (JSON).

compliance-trestle is imported only when the command runs.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

from moodle_soc.cli.common import fail, open_store
from moodle_soc.cli.frameworks import FrameworkOption
from moodle_soc.cli.options import SiteOption, StoreOption
from moodle_soc.errors import BadInputError, MoodleSocError
from moodle_soc.safety import terminal_safe

PERIOD_EXAMPLE = "2026-01-01..2026-03-31"


def summarize(document: dict[str, Any], index: int = 0) -> tuple[Counter[str], list[str]]:
    """Verdict counts over one result's findings, and one line per criterion not satisfied."""
    result = document["assessment-results"]["results"][index]
    verdicts: Counter[str] = Counter()
    failures = []
    for finding in result.get("findings", []):
        verdict = next(p["value"] for p in finding.get("props", []) if p["name"] == "verdict")
        verdicts[verdict] += 1
        if verdict == "not-satisfied":
            failures.append(f"  {finding['title']}: {finding['target']['description']}")
    return verdicts, failures


def oscal_command(
    period: Annotated[
        str, typer.Option(help=f"FROM..TO, both days included (UTC), e.g. {PERIOD_EXAMPLE}.")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the OSCAL JSON file.")
    ],
    site: SiteOption = None,
    store: StoreOption = None,
    framework: FrameworkOption = None,
) -> None:
    """Export a period as NIST OSCAL assessment results (JSON), read back through trestle;
    one result per --framework (default SOC 2)."""
    # One observation per check per scan day, one finding per SOC 2 criterion: satisfied,
    # not-satisfied, or no status where nothing was determined (see evidence/oscal.py).
    from moodle_soc.api.evidence import export_oscal, parse_period

    try:
        start, end = parse_period(period)
        with open_store(store) as evidence:
            site_ref = export_oscal(
                evidence,
                site=site,
                start=start,
                end=end,
                output=output,
                frameworks=framework or (),
            )
        document = _read_back(output)
    except MoodleSocError as error:
        fail(error)
    results = document["assessment-results"]["results"]
    for index, result in enumerate(results):
        verdicts, failures = summarize(document, index)
        head = (
            f"Wrote {output}: OSCAL {document['assessment-results']['metadata']['oscal-version']}"
            f" assessment results for {terminal_safe(site_ref.name)}, {start} to {end};"
            if index == 0
            else " "
        )
        scope = f" {terminal_safe(result['title'])}:" if len(results) > 1 else ""
        typer.echo(
            f"{head}{scope} {len(result.get('observations', []))} observations,"
            f" {verdicts['satisfied']} criteria satisfied, {verdicts['not-satisfied']} not"
            f" satisfied, {verdicts['not-determined']} not determined,"
            f" {verdicts['not-assessed']} not assessed automatically."
        )
        for line in failures:
            typer.echo(terminal_safe(line))


def _read_back(path: Path) -> dict[str, Any]:
    """Parse the written file again through trestle's model, so what we report is what a
    consumer of the file reads."""
    import trestle.oscal.assessment_results as ar
    from pydantic import ValidationError

    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        ar.AssessmentResults.model_validate(document["assessment-results"])
    except (OSError, ValueError, KeyError, ValidationError) as exc:
        raise BadInputError(
            f"{path} does not read back as OSCAL assessment results: {exc}."
        ) from None
    return document
