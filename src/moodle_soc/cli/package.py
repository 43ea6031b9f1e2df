"""``moodle-soc evidence export | verify-package | retention``: the command functions.

They are registered on ``evidence_app`` by the CLI module; heavy modules are imported inside
each command so that ``moodle-soc --help`` stays fast.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from moodle_soc.cli.common import fail, max_recording_delay, open_store, parse_day
from moodle_soc.cli.frameworks import FrameworkOption
from moodle_soc.cli.options import SettingsOption, SignKeyOption, SiteOption, StoreOption
from moodle_soc.errors import ExitCode, MoodleSocError, UsageError
from moodle_soc.safety import terminal_safe

if TYPE_CHECKING:
    from moodle_soc.evidence.package.export import PackageSummary
    from moodle_soc.evidence.package.verify import PackageVerifyReport


def export_command(
    period: Annotated[
        str, typer.Option(help="FROM..TO in UTC days, inclusive: 2026-01-01..2026-12-31.")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The package to write (.zip).")],
    site: SiteOption = None,
    store: StoreOption = None,
    sign_key: SignKeyOption = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    framework: FrameworkOption = None,
    settings: SettingsOption = None,
) -> None:
    """Export a site's evidence for a period as a ZIP package anyone can verify offline.

    Its period report counts only runs recorded within the policy's max_recording_delay_hours
    of their audit time; later ones are shown as reconstructed."""
    from moodle_soc.api.evidence import export_package, parse_period

    try:
        start, end = parse_period(period)
        delay = max_recording_delay(settings)
        with (
            open_store(store, sign_key, settings=settings) as evidence,
            _ProgressBar(quiet) as advance,
        ):
            summary = export_package(
                evidence,
                site=site,
                start=start,
                end=end,
                output=output,
                replace=force,
                progress=advance,
                frameworks=framework or (),
                max_recording_delay_hours=delay,
            )
    except MoodleSocError as error:
        fail(error)
    _report_export(summary)


def _report_export(summary: PackageSummary) -> None:
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(summary.kinds.items()))
    signed = ", ".join(summary.signed_by) or "nobody (use --sign-key to sign the manifest)"
    typer.echo(
        f"Wrote {summary.path}: {summary.files} files, {summary.records} records"
        f" ({kinds or 'no evidence in the period'}), {summary.size:,} bytes."
    )
    typer.echo(f"  site:            {terminal_safe(summary.site.name)} ({summary.site.key})")
    typer.echo(f"  period:          {summary.start} .. {summary.end}")
    typer.echo(f"  manifest SHA-256 {summary.manifest_sha256}")
    typer.echo(f"  range head       {summary.range_head or 'none'}")
    typer.echo(f"  chain head       {summary.head_at_export}")
    typer.echo(f"  signed by        {signed}")
    typer.echo(f"Verify it with: moodle-soc evidence verify-package {summary.path}")


class _ProgressBar:
    """A progress bar on stderr; the callback ``export_package`` advances."""

    def __init__(self, quiet: bool) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        console = Console(stderr=True)
        self.bar = Progress(
            TextColumn("[bold]Exporting[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            console=console,
            transient=True,
            # Off a terminal a bar is only a stray blank line before an error or the summary.
            disable=quiet or not console.is_terminal,
        )
        self.task = self.bar.add_task("", total=None)

    def __enter__(self) -> _ProgressBar:
        self.bar.start()
        return self

    def __call__(self, what: str, done: int, total: int) -> None:
        self.bar.update(self.task, description=what, completed=done, total=total)

    def __exit__(self, *_exc: object) -> None:
        self.bar.stop()


def verify_package_command(
    package: Annotated[Path, typer.Argument(help="The evidence package (.zip).")],
) -> None:
    """Verify an exported package offline; exit 8 and name the first changed file."""
    from moodle_soc.api.evidence import verify_package

    try:
        report = verify_package(package)
    except MoodleSocError as error:
        fail(error)
    if report.problem is not None:
        typer.echo(f"TAMPERED: {terminal_safe(report.problem.describe())}.", err=True)
        raise typer.Exit(int(ExitCode.EVIDENCE_INVALID))
    signers = ", ".join(report.manifest_signers) or "not signed"
    typer.echo(
        f"OK: {package.name}: {report.files} files and {report.records} records verified"
        f" ({report.signed_records} record signatures); manifest {signers}."
    )
    typer.echo(f"  site:       {terminal_safe(report.site)}")
    typer.echo(f"  period:     {report.period}")
    typer.echo(f"  range head  {report.range_head or 'none'}")
    typer.echo(f"  chain head  {report.head_at_export} (at export)")
    _bindings(report)
    for note in report.notes:
        typer.echo(f"NOTE: {note}")


def _bindings(report: PackageVerifyReport) -> None:
    """How many files each way ties them to the chain, then every file it does not (fully)."""
    from moodle_soc.evidence.package.derived import bound_summary

    counts = bound_summary(report.bindings)
    typer.echo(
        f"  files:      {counts['chain']} hashed into the chain, {counts['regenerated']} made"
        f" again from its records and compared, {counts['partly']} partly,"
        f" {counts['not bound']} not bound"
    )
    signed = "; the manifest signature covers it" if report.manifest_signers else ""
    for binding in report.unbound:
        label = "PARTLY BOUND" if binding.bound == "partly" else "NOT BOUND"
        typer.echo(f"{label}: {terminal_safe(binding.path)}: {terminal_safe(binding.how)}{signed}")


def retention_command(
    before: Annotated[str, typer.Option(help="Clear payloads collected before this day.")],
    reason: Annotated[str, typer.Option(help="Why (recorded in the seal).")],
    operator: Annotated[
        str | None, typer.Option(help="Who (recorded in the seal; default: the OS user).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would go.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    site: SiteOption = None,
    store: StoreOption = None,
    sign_key: SignKeyOption = None,
    settings: SettingsOption = None,
) -> None:
    """Clear old payloads after sealing them: the chain keeps every header and verifies.

    Evidence younger than the policy's min_evidence_retention_days is never cleared."""
    from moodle_soc.api.evidence import apply_retention, plan_retention
    from moodle_soc.settings_file import find_settings_file

    try:
        policy = find_settings_file(settings).policy
        cutoff = parse_day(before, "--before")
        who = operator or getpass.getuser()
        with open_store(store, sign_key) as evidence:
            name = evidence.find_site(site).name
            plan = plan_retention(
                evidence, site=site, before=cutoff, reason=reason, operator=who, policy=policy
            )
            what = (
                f"{len(plan.records)} record payload(s) and {len(plan.blobs)} attached file(s)"
                f" of {name} collected before {cutoff}"
            )
            if dry_run or not plan.records:
                typer.echo(f"{'Would clear' if plan.records else 'Nothing to clear:'} {what}.")
                for record in plan.records:
                    typer.echo(f"  #{record.seq} {record.kind} {record.collected_at:%Y-%m-%d}")
                return
            if not yes:
                if not sys.stdin.isatty():
                    raise UsageError("Retention clears evidence payloads; confirm with --yes.")
                typer.confirm(f"Clear {what}?", abort=True)
            result = apply_retention(
                evidence, site=site, before=cutoff, reason=reason, operator=who, policy=policy
            )
    except MoodleSocError as error:
        fail(error)
    assert result.seal is not None
    typer.echo(
        f"Sealed and cleared {what}: seal record {result.seal.seq} ({result.seal.short})."
        " Their headers stay in the chain; 'moodle-soc evidence verify' still passes."
    )
