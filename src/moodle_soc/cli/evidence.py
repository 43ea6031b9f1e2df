"""``moodle-soc evidence``: list, show, diff, verify and attach evidence in the store."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from moodle_soc.cli.common import (
    check_format,
    fail,
    max_recording_delay,
    open_store,
    parse_day,
    period_days,
    write_text,
)
from moodle_soc.cli.options import (
    FromDayOption,
    SettingsOption,
    SignKeyOption,
    SiteFilterOption,
    SiteOption,
    StoreOption,
    ToDayOption,
)
from moodle_soc.errors import BadInputError, ExitCode, MoodleSocError, UsageError
from moodle_soc.safety import terminal_markup, terminal_safe

if TYPE_CHECKING:
    pass

evidence_app = typer.Typer(help="The evidence locker: tamper-evident history of runs and files.")


@evidence_app.command("list")
def list_records(
    store: StoreOption = None,
    site: SiteFilterOption = None,
    kind: Annotated[
        str | None, typer.Option(help="Only this kind: run, attachment, population, ...")
    ] = None,
    period: Annotated[
        str | None,
        typer.Option("--period", help="Only records whose audit time is in FROM..TO (UTC days)."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
    settings: SettingsOption = None,
    from_: FromDayOption = None,
    to: ToDayOption = None,
) -> None:
    """List records per site, optionally within a period.

    Each record has two times: the audit time it judges and when it was recorded. One
    recorded more than the policy's max_recording_delay_hours later is reconstructed."""
    from rich.console import Console
    from rich.table import Table

    from moodle_soc.models.records import RecordKind

    try:
        if kind is not None and RecordKind.known(kind) is None:
            known = ", ".join(k.value for k in RecordKind)
            raise UsageError(f"--kind {kind!r} is not a record kind ({known}).")
        check_format(fmt, ("table", "json"))
        first, last = period_days(period, from_, to, required=False)
        start = datetime.combine(first, datetime.min.time(), UTC) if first else None
        end = datetime.combine(last, datetime.max.time(), UTC) if last else None
        delay = max_recording_delay(settings)
        with open_store(store, settings=settings) as evidence:
            site_key = evidence.find_site(site).key if site else None
            records = evidence.records(
                site_key=site_key, kind=kind, collected_from=start, collected_to=end
            )
            names = {s.key: s.name for s in evidence.sites()}
            where = evidence.display
    except MoodleSocError as error:
        fail(error)
    if fmt == "json":
        rows = [
            {
                "seq": r.seq,
                "site_key": r.site_key,
                "site": names.get(r.site_key, ""),
                "index": r.chain_index,
                "kind": r.kind,
                "collected_at": r.collected_at.isoformat(),
                "recorded_at": r.created_at.isoformat(),
                "reconstructed": r.reconstructed(delay),
                "effective_date": r.effective_date.isoformat() if r.effective_date else None,
                "record_hash": r.record_hash,
                "signed": r.signature is not None,
            }
            for r in records
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{len(records)} evidence records in {terminal_markup(where)}")
    for column in ("#", "Site", "Kind", "Audit time", "Recorded", "Effective", "Hash", "Signed"):
        table.add_column(column)
    late = 0
    for r in records:
        recorded = r.created_at.strftime("%Y-%m-%d %H:%MZ")
        if r.reconstructed(delay):
            late += 1
            recorded += " [yellow]reconstructed[/]"
        table.add_row(
            str(r.seq),
            terminal_markup(names.get(r.site_key, r.site_key[:12])),
            r.kind,
            r.collected_at.strftime("%Y-%m-%d %H:%MZ"),
            recorded,
            r.effective_date.isoformat() if r.effective_date else "",
            r.short,
            "yes" if r.signature else "",
        )
    console = Console()
    console.print(table)
    if late:
        console.print(
            f"{late} record(s) reconstructed: recorded more than {delay} h after their audit"
            " time, so they never count as monitoring (policy max_recording_delay_hours)."
        )


@evidence_app.command("show")
def show(
    record: Annotated[str, typer.Argument(help="Record number or hash prefix.")],
    store: StoreOption = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="terminal, json or html; csv or xlsx: a run's every finding."
        ),
    ] = "terminal",
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Show one record: a scan run as a report (or its full population as CSV or XLSX),
    anything else as its JSON payload."""
    from rich.console import Console

    from moodle_soc.models.records import RecordKind

    try:
        check_format(fmt, ("terminal", "json", "html", "csv", "xlsx"))
        with open_store(store) as evidence:
            stored = evidence.get(record)
            payload = evidence.payload(stored)
            run = None
            if stored.kind == RecordKind.RUN and fmt in ("terminal", "html", "csv", "xlsx"):
                from moodle_soc.evidence.store.runs import load_run

                run = load_run(evidence, stored)
            elif fmt in ("csv", "xlsx"):
                raise BadInputError(
                    f"Record {stored.seq} is a {stored.kind} record: --format {fmt} writes a"
                    " scan run's findings."
                )
        if run is not None:
            if fmt in ("csv", "xlsx"):
                from moodle_soc.cli.scan import OutputFormat, write_population

                write_population(run, OutputFormat(fmt), output)
                return
            if fmt == "html":
                from moodle_soc.reports import render

                document = render(run, "html")
                if output:
                    write_text(output, document)
                else:
                    typer.echo(document)
                return
            from moodle_soc.reports.terminal import render_terminal

            render_terminal(run, Console())
            return
    except MoodleSocError as error:
        fail(error)
    header = {
        "seq": stored.seq,
        "kind": stored.kind,
        "site_key": stored.site_key,
        "chain_index": stored.chain_index,
        "collected_at": stored.collected_at.isoformat(),
        "created_at": stored.created_at.isoformat(),
        "effective_date": stored.effective_date.isoformat() if stored.effective_date else None,
        "record_hash": stored.record_hash,
        "content_sha256": stored.content_sha256,
        "prev_hash": stored.prev_hash,
        "signed_by": stored.key_id,
    }
    text = json.dumps({"record": header, "payload": payload}, indent=2, ensure_ascii=False)
    if output:
        try:
            write_text(output, text + "\n")
        except MoodleSocError as error:
            fail(error)
    else:
        typer.echo(text)


@evidence_app.command("diff")
def diff(
    run_a: Annotated[str, typer.Argument(help="The earlier run (number or hash prefix).")],
    run_b: Annotated[str, typer.Argument(help="The later run.")],
    store: StoreOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="terminal or json.")] = "terminal",
) -> None:
    """New, fixed and changed findings between two runs."""
    from rich.console import Console

    from moodle_soc.evidence.store.runs import diff_runs, load_run

    try:
        check_format(fmt, ("terminal", "json"))
        with open_store(store) as evidence:
            before = load_run(evidence, evidence.get(run_a))
            after = load_run(evidence, evidence.get(run_b))
    except MoodleSocError as error:
        fail(error)
    result = diff_runs(before, after)
    if fmt == "json":
        typer.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        return
    console = Console()
    console.print(
        f"From {before.audit_time:%Y-%m-%d %H:%M} to {after.audit_time:%Y-%m-%d %H:%M}: "
        f"{len(result.new)} new, {len(result.fixed)} fixed, {len(result.changed)} changed."
    )
    for title, changes in (
        ("New", result.new),
        ("Fixed", result.fixed),
        ("Changed", result.changed),
    ):
        for change in changes:
            now = change.after or change.before
            reason = now.reason if now else ""
            console.print(
                f"  [bold]{title}[/] {terminal_markup(change.check_id)}"
                f" {terminal_markup(change.resource)}: {terminal_markup(reason)}"
            )


@evidence_app.command("verify")
def verify(
    store: StoreOption = None,
    site: SiteFilterOption = None,
    expect_head: Annotated[
        list[str] | None,
        typer.Option(
            "--expect-head",
            help="A chain head hash recorded earlier (e.g. in an export manifest): detects"
            " records removed from the end of a chain. Repeatable.",
        ),
    ] = None,
    require_signed: Annotated[
        bool,
        typer.Option(
            "--require-signed", help="Treat any unsigned record as tampering (signed stores)."
        ),
    ] = False,
    allow_empty: Annotated[
        bool,
        typer.Option("--allow-empty", help="Succeed on a store (or site) with no records."),
    ] = False,
) -> None:
    """Walk every chain; exit 8 and name the first broken record on any change."""
    from moodle_soc.api.evidence import verify_store

    try:
        with open_store(store) as evidence:
            outcome = verify_store(
                evidence, site=site, expect_heads=expect_head or (), require_signed=require_signed
            )
            where = evidence.display
    except MoodleSocError as error:
        fail(error)
    for sentence in outcome.tampered:
        typer.echo(f"TAMPERED: {terminal_safe(sentence)}.", err=True)
    if not outcome.ok:
        raise typer.Exit(int(ExitCode.EVIDENCE_INVALID))
    report = outcome.report
    if report.empty and not allow_empty:
        what = f"site {site!r}" if site else where
        typer.echo(f"EMPTY: no records to verify in {terminal_safe(what)}; nothing was checked"
                   " (pass --allow-empty if that is expected).", err=True)  # fmt: skip
        raise typer.Exit(int(ExitCode.EVIDENCE_INVALID))
    for note in outcome.notes:
        typer.echo(f"NOTE: {note}.", err=True)
    typer.echo(
        f"OK: {report.records} records in {report.chains} chain(s) verified"
        f" ({report.signed} signed, {report.attachments} attachments) in {where}."
    )
    for key, head in sorted(report.heads.items()):
        typer.echo(f"  chain {key}: head {head}")


@evidence_app.command("attach")
def attach(
    file: Annotated[Path, typer.Argument(help="The evidence file (PDF, image, spreadsheet...).")],
    control: Annotated[
        str, typer.Option(help="Criterion (CC6.3), SOC 1 objective, evidence id or check id.")
    ],
    effective_date: Annotated[
        str, typer.Option(help="The date the evidence is effective for (YYYY-MM-DD).")
    ],
    by: Annotated[
        str | None, typer.Option(help="Who collected it (default: the current OS user).")
    ] = None,
    note: Annotated[str, typer.Option(help="A short description.")] = "",
    effective_until: Annotated[
        str | None, typer.Option(help="Last day it is in force (default: until superseded).")
    ] = None,
    supersedes: Annotated[
        str | None,
        typer.Option(help="The earlier attachment (record number or hash) this one replaces."),
    ] = None,
    site: SiteOption = None,
    store: StoreOption = None,
    sign_key: SignKeyOption = None,
) -> None:
    """Store a manual evidence file by hash, with who, when and the date it is effective for.

    It stays in force (and goes into every package of a period it overlaps) until
    --effective-until, or until a later attachment that --supersedes it takes effect."""
    from moodle_soc.api.evidence import attach_evidence

    try:
        with open_store(store, sign_key, create=True) as evidence:
            record = attach_evidence(
                evidence,
                file,
                site=site,
                control=control,
                effective_date=parse_day(effective_date, "--effective-date"),
                collected_by=by or getpass.getuser(),
                note=note,
                effective_until=(
                    parse_day(effective_until, "--effective-until") if effective_until else None
                ),
                supersedes=supersedes,
            )
    except MoodleSocError as error:
        fail(error)
    typer.echo(f"Attached {file.name} as record {record.seq} ({record.short}) for {control}.")


@evidence_app.command("keygen")
def keygen(
    path: Annotated[Path, typer.Argument(help="Where to write the new private key (PEM).")],
) -> None:
    """Create an Ed25519 signing key; keep it private, its public key travels with exports."""
    from moodle_soc.evidence.store.signing import generate_key, public_pem

    try:
        signer = generate_key(path)
    except BadInputError as error:
        fail(error)
    typer.echo(f"Wrote private key {path} (key id {signer.key_id}). Public key:")
    typer.echo(public_pem(signer.public_key).rstrip())
