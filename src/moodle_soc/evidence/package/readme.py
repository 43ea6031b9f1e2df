"""The package's ``README.txt``: what each file is and how to verify it, with the package's
figures (site, period, record counts, chain heads, the controls' score, signers).

Made from values the manifest, the chain file and the control matrix carry, so that
``verify-package`` can make it again from them and compare.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from importlib import resources

from moodle_soc import __version__
from moodle_soc.models.records import RecordKind, SiteRef

README = "README.txt"
_MAIN = (
    RecordKind.RUN,
    RecordKind.ATTACHMENT,
    RecordKind.POPULATION,
    RecordKind.CHANGE_POPULATION,
    RecordKind.SAMPLE,
)


def readme_bytes(
    site: SiteRef,
    start: date,
    end: date,
    moment: datetime,
    kinds: Mapping[str, int],
    summary: str,
    range_head: str | None,
    head_at_export: str,
    record_keys: Sequence[str],
    manifest_signers: Sequence[str],
) -> bytes:
    """``kinds`` counts the included records by kind; ``record_keys`` are the keys that
    signed records of the chain segment; ``summary`` is the control matrix's score."""
    lines = [f"Records signed by key {key}." for key in sorted(set(record_keys))]
    lines += [f"Manifest signed by key {key}." for key in manifest_signers]
    records = sum(kinds.values())
    template = resources.files("moodle_soc").joinpath(
        "evidence/package/templates/package-README.txt"
    )
    text = template.read_text(encoding="utf-8").format(
        site_name=_plain(site.name),
        site_url=_plain(site.wwwroot or "no wwwroot"),
        site_key=_plain(site.key),
        start=start,
        end=end,
        generated_at=moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
        tool_version=__version__,
        records=records,
        runs=kinds.get(RecordKind.RUN, 0),
        attachments=kinds.get(RecordKind.ATTACHMENT, 0),
        populations=kinds.get(RecordKind.POPULATION, 0)
        + kinds.get(RecordKind.CHANGE_POPULATION, 0),
        samples=kinds.get(RecordKind.SAMPLE, 0),
        other=records - sum(kinds.get(k, 0) for k in _MAIN),
        range_head=range_head or "none (no evidence in the period)",
        head_at_export=head_at_export,
        controls=_plain(summary),
        signed=f"signed by {', '.join(manifest_signers)}" if manifest_signers else "not signed",
        key_lines="\n".join(lines) or "Nothing in this package is signed.",
    )
    return text.encode()


def _plain(value: str) -> str:
    """Site data is untrusted: no control characters in the auditor's README."""
    return re.sub(r"[\x00-\x1f\x7f]", "?", value)
