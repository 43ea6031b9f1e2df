"""``moodle-soc review ...``: run a user access review campaign end to end.

start (snapshot the inventory) → export (the file a reviewer fills in) → import (validated, all
or nothing) → close (sign-off; revocations become dated follow-ups) → status / report (verify the
follow-ups against the live site). Every step is an evidence record. Exit codes are the tool's
own (``errors.ExitCode``): 2 usage, 3 cannot connect, 4 not Moodle, 6 bad config.php, 7 bad
input (an unknown campaign, a refused review file, a close or import the campaign refuses).
"""

from __future__ import annotations

import getpass
import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from moodle_soc.cli.common import check_format, exit_with, fail, open_store
from moodle_soc.cli.options import SignKeyOption, SiteFilterOption, StoreOption
from moodle_soc.cli.review_status import (
    AskPassword,
    AsOf,
    By,
    CampaignArg,
    Config,
    Db,
    Prefix,
    Settings,
    SiteOptions,
    Wwwroot,
    report,
    status,
)
from moodle_soc.errors import MoodleSocError
from moodle_soc.safety import terminal_safe

if TYPE_CHECKING:
    from moodle_soc.models.reviews import Campaign

review_app = typer.Typer(
    help="User access review campaigns: start, export, import, close, status, report.",
    no_args_is_help=True,
)


class ReviewScope(StrEnum):
    privileged = "privileged"
    all = "all"


@review_app.callback()
def review_callback() -> None:
    """User access review campaigns (SOC 2 CC6.2, CC6.3): dated, attributable evidence."""


def _echo(text: str) -> None:
    """Every review line carries Moodle or reviewer text: print it inert."""
    typer.echo(terminal_safe(text))


@review_app.command("start")
def start(
    reviewer: Annotated[str, typer.Option(help="Email of the person who reviews.")],
    scope: Annotated[
        ReviewScope, typer.Option(help="privileged accounts only, or every account.")
    ] = ReviewScope.privileged,
    db: Db = None,
    config: Config = None,
    prefix: Prefix = None,
    ask_password: AskPassword = False,
    wwwroot: Wwwroot = None,
    as_of: AsOf = None,
    roster: Annotated[Path | None, typer.Option(help="HR roster CSV to reconcile.")] = None,
    settings: Settings = None,
    store: StoreOption = None,
    sign_key: SignKeyOption = None,
) -> None:
    """Read the site's access inventory and store it as a new review campaign."""
    from moodle_soc.api.reviews import start_review
    from moodle_soc.inventory.roster import load_roster
    from moodle_soc.settings_file import find_settings_file

    try:
        settings_file = find_settings_file(settings)
        people = load_roster(roster) if roster is not None else None
        with (
            open_store(store, sign_key, create=True, configured=settings_file.store) as evidence,
            SiteOptions(db, config, prefix, ask_password, wwwroot, as_of).open() as site,
        ):
            campaign = start_review(
                evidence,
                site,
                reviewer=reviewer,
                started_by=getpass.getuser(),
                scope=scope.value,
                policy=settings_file.policy,
                roster=people,
            )
            where = evidence.display
    except MoodleSocError as error:
        fail(error)
    c, previous = campaign.counts(), campaign.start.previous_campaign
    against = f"compared with campaign {previous}" if previous else "the first campaign"
    _echo(
        f"Started campaign {campaign.id} for {campaign.start.site_name} ({scope.value} accounts,"
        f" reviewer"
        f" {reviewer}, {against}): {c['entries']} entries ({c['new']} new, {c['unchanged']}"
        f" unchanged, {c['changed']} changed, {c['role_creep']} with role creep),"
        f" {c['removed']} removed."
    )
    _echo(f"Evidence record {campaign.record.seq} ({campaign.record.short}) in {where}.")
    _echo(f"Next: moodle-soc review export {campaign.id} -o review-{campaign.id}.xlsx")


@review_app.command("export")
def export(
    campaign_id: CampaignArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="FILE.xlsx or FILE.csv.")],
    store: StoreOption = None,
) -> None:
    """Write the review file (XLSX or CSV) the reviewer fills in."""
    from moodle_soc.api.reviews import export_review_file

    try:
        with open_store(store) as evidence:
            campaign, rows = export_review_file(evidence, campaign_id, output)
    except MoodleSocError as error:
        fail(error)
    note = " (the campaign is closed: imports are refused)" if campaign.close else ""
    _echo(f"Wrote {rows} rows of campaign {campaign.id} to {output}{note}.")


@review_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="The filled-in review file (.xlsx or .csv).")],
    campaign_id: Annotated[str, typer.Option("--campaign", help="Campaign id or prefix.")],
    by: By,
    store: StoreOption = None,
    sign_key: SignKeyOption = None,
) -> None:
    """Validate every row of a review file and record its decisions (all or nothing)."""
    from moodle_soc.api.reviews import import_review_decisions
    from moodle_soc.reviews.files import MAX_PROBLEMS, ReviewFileError

    try:
        with open_store(store, sign_key) as evidence:
            campaign, imported, record = import_review_decisions(
                evidence, file, campaign=campaign_id, by=by
            )
    except ReviewFileError as error:
        shown = [problem.describe() for problem in error.problems[:MAX_PROBLEMS]]
        if len(error.problems) > MAX_PROBLEMS:
            shown.append(f"and {len(error.problems) - MAX_PROBLEMS:,} more problem(s), not shown.")
        summary = f"{file.name}: {len(error.problems)} problem(s), nothing was recorded:"
        exit_with(summary, error.exit_code, shown)
    except MoodleSocError as error:
        fail(error)
    c = campaign.counts()
    _echo(
        f"Recorded {len(imported.decisions)} decisions from {file.name} (sha256"
        f" {imported.file_sha256[:16]}) by {by} as record {record.seq} ({record.short})."
    )
    _echo(
        f"Campaign {campaign.id}: {c['keep']} keep, {c['revoke']} revoke, {c['modify']} modify,"
        f" {c['escalate']} escalate, {c['undecided']} undecided."
    )


@review_app.command("close")
def close(
    campaign_id: CampaignArg,
    by: By,
    follow_up_days: Annotated[
        int, typer.Option(min=0, help="Days allowed to carry out revocations.")
    ] = 14,
    store: StoreOption = None,
    sign_key: SignKeyOption = None,
) -> None:
    """Sign the campaign off: revoke and modify decisions become dated follow-ups."""
    from moodle_soc.api.reviews import close_review

    try:
        with open_store(store, sign_key) as evidence:
            campaign, closed = close_review(
                evidence, campaign_id, by=by, follow_up_days=follow_up_days
            )
    except MoodleSocError as error:
        fail(error)
    _echo(
        f"Closed campaign {campaign.id}, signed off by {by} on {closed.closed_at:%Y-%m-%d %H:%M}"
        f" UTC: {closed.counts['entries']} entries, {len(closed.follow_ups)} follow-up(s)."
    )
    for follow_up in closed.follow_ups:
        _echo(f"  due {follow_up.due}: {follow_up.action}")


def _summary(c: Campaign) -> dict[str, object]:
    close = c.close
    return {
        "campaign": c.id,
        "site": c.start.site_name,
        "scope": c.start.scope,
        "reviewer": c.start.reviewer,
        "audit_time": c.start.audit_time.isoformat(),
        "state": c.state,
        "closed_at": close.closed_at.isoformat() if close else None,
        "closed_by": close.closed_by if close else None,
        "follow_ups": len(close.follow_ups) if close else 0,
        **c.counts(),
    }


@review_app.command("list")
def list_(
    site: SiteFilterOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
    store: StoreOption = None,
) -> None:
    """List campaigns, newest last, with their state and decision counts."""
    from moodle_soc.api.reviews import list_reviews

    try:
        check_format(fmt, ("table", "json"))
        with open_store(store) as evidence:
            campaigns = list_reviews(evidence, site=site)
            where = evidence.display
    except MoodleSocError as error:
        fail(error)
    rows = [_summary(c) for c in campaigns]
    if fmt == "json":
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))  # JSON escapes controls
        return
    _echo(f"{len(rows)} campaign(s) in {where}")
    for r in rows:
        _echo(
            f"  {r['campaign']}  {str(r['audit_time'])[:10]}  {r['state']:<6}  {r['scope']:<10}"
            f"  {r['site']}  reviewer {r['reviewer']}  {r['entries']} entries,"
            f" {r['undecided']} undecided, {r['follow_ups']} follow-up(s)"
        )


# Defined with the follow-up verification they share; listed after the campaign steps.
review_app.command("status")(status)
review_app.command("report")(report)
