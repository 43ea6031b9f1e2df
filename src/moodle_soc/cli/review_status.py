"""``moodle-soc review status`` and ``review report``: a campaign's decisions and follow-ups,
verified against the live site when connection options are given (each verification is stored
as a ``review_followup_check`` record), plus the connection options every review command shares.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from moodle_soc.cli.common import fail, open_store
from moodle_soc.cli.options import (
    AskPasswordOption,
    AsOfOption,
    ConfigOption,
    DbOption,
    PrefixOption,
    SettingsOption,
    SignKeyOption,
    StoreOption,
    WwwrootOption,
)
from moodle_soc.errors import BadInputError, MoodleSocError

if TYPE_CHECKING:
    from moodle_soc.evidence.store.store import EvidenceStore
    from moodle_soc.models.reviews import Campaign, FollowUpStatus
    from moodle_soc.site.moodle import MoodleSite

Db = DbOption
Config = ConfigOption
Prefix = PrefixOption
AskPassword = AskPasswordOption
Wwwroot = WwwrootOption
AsOf = AsOfOption
Settings = SettingsOption
CampaignArg = Annotated[str, typer.Argument(help="Campaign id (or a unique prefix of it).")]
By = Annotated[str, typer.Option(help="Your email address: recorded with what you do.")]


@dataclass(frozen=True)
class SiteOptions:
    """The scan's connection options; ``given`` when the command should read the site."""

    db: str | None
    config: Path | None
    prefix: str | None
    ask_password: bool
    wwwroot: str | None
    as_of: str | None

    @property
    def given(self) -> bool:
        return self.db is not None or self.config is not None

    def open(self) -> MoodleSite:
        from moodle_soc.cli.common import open_site, parse_as_of

        moment = parse_as_of(self.as_of)
        return open_site(self.db, self.config, self.prefix, self.ask_password, moment, self.wwwroot)


def _verify_now(
    evidence: EvidenceStore, campaign: Campaign, options: SiteOptions, settings: Path | None
) -> list[FollowUpStatus]:
    """Read the campaign's site now, verify its follow-ups and store what was found."""
    from moodle_soc.evidence.store.runs import site_ref_for_site
    from moodle_soc.inventory.build import build_inventory
    from moodle_soc.inventory.follow_ups import verify_follow_ups
    from moodle_soc.reviews.campaigns import record_follow_up_check
    from moodle_soc.settings_file import find_settings_file

    policy = find_settings_file(settings).policy
    site = options.open()
    try:
        if campaign.close is not None and site.audit_time < campaign.close.closed_at:
            # A check dated before the sign-off would turn overdue follow-ups into pending
            # ones and be kept as evidence: refuse to backdate it.
            raise BadInputError(
                f"--as-of {site.audit_time:%Y-%m-%d %H:%M} is before campaign {campaign.id} was"
                f" signed off ({campaign.close.closed_at:%Y-%m-%d %H:%M} UTC)."
            )
        if site_ref_for_site(site).key != campaign.start.site_key:
            raise BadInputError(
                f"{site.identity.database} is the site {site.identity.name!r}, not campaign"
                f" {campaign.id}'s site {campaign.start.site_name!r}."
            )
        inventory = build_inventory(site, policy, scope=campaign.start.scope)
        statuses = verify_follow_ups(campaign, inventory, site.audit_time)
        database, audit_time = site.identity.database, site.audit_time
    finally:
        site.db.close()
    if campaign.close is not None:
        record_follow_up_check(
            evidence,
            campaign,
            statuses,
            audit_time=audit_time,
            checked_by=getpass.getuser(),
            database=database,
        )
    return statuses


def _print_status(campaign: Campaign, statuses: list[FollowUpStatus] | None) -> None:
    start, c = campaign.start, campaign.counts()
    typer.echo(
        f"Campaign {campaign.id}: {start.site_name}, {start.scope} accounts at"
        f" {start.audit_time:%Y-%m-%d %H:%M} UTC, reviewer {start.reviewer}, {campaign.state}."
    )
    typer.echo(
        f"  {c['entries']} entries: {c['keep']} keep, {c['revoke']} revoke, {c['modify']} modify,"
        f" {c['escalate']} escalate, {c['undecided']} undecided; {len(campaign.imports)} import(s)."
    )
    close = campaign.close
    if close is None:
        return
    typer.echo(f"  Signed off by {close.closed_by} on {close.closed_at:%Y-%m-%d %H:%M} UTC.")
    known = {s.key: s for s in statuses or []}
    for follow_up in close.follow_ups:
        status = known.get(follow_up.key)
        shown = f"{status.status}: {status.reason}" if status else "not verified yet."
        typer.echo(f"  follow-up {follow_up.key} (due {follow_up.due}) {shown}")


def _campaign_statuses(
    evidence: EvidenceStore, campaign_id: str, options: SiteOptions, settings: Path | None
) -> tuple[Campaign, list[FollowUpStatus] | None]:
    """The campaign and its follow-up statuses: verified on the site now when one is given,
    else the latest stored check (None when none was recorded)."""
    from moodle_soc.reviews.campaigns import get_campaign

    campaign = get_campaign(evidence, campaign_id)
    if options.given:
        return campaign, _verify_now(evidence, campaign, options, settings)
    return campaign, list(campaign.checks[-1].statuses) if campaign.checks else None


def status(
    campaign_id: CampaignArg,
    db: Db = None,
    config: Config = None,
    prefix: Prefix = None,
    ask_password: AskPassword = False,
    wwwroot: Wwwroot = None,
    as_of: AsOf = None,
    settings: Settings = None,
    store: StoreOption = None,
    sign_key: SignKeyOption = None,
) -> None:
    """Show decisions and follow-ups; with --config/--db, verify the follow-ups on the site now."""

    try:
        evidence = open_store(store, sign_key)
        options = SiteOptions(db, config, prefix, ask_password, wwwroot, as_of)
        campaign, statuses = _campaign_statuses(evidence, campaign_id, options, settings)
    except MoodleSocError as error:
        fail(error)
    _print_status(campaign, statuses)


def report(
    campaign_id: CampaignArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")],
    db: Db = None,
    config: Config = None,
    prefix: Prefix = None,
    ask_password: AskPassword = False,
    wwwroot: Wwwroot = None,
    as_of: AsOf = None,
    settings: Settings = None,
    store: StoreOption = None,
    sign_key: SignKeyOption = None,
) -> None:
    """Write the campaign's HTML report: inventory, flags, decisions and follow-ups."""
    from moodle_soc.inventory.follow_ups import decision_rows, follow_up_rows
    from moodle_soc.reports.access import render_access_review

    try:
        evidence = open_store(store, sign_key)
        options = SiteOptions(db, config, prefix, ask_password, wwwroot, as_of)
        campaign, statuses = _campaign_statuses(evidence, campaign_id, options, settings)
        document = render_access_review(
            campaign.start.inventory,
            decisions=decision_rows(campaign),
            follow_ups=follow_up_rows(campaign, statuses) if campaign.close else None,
        )
        try:
            output.write_text(document, encoding="utf-8")
        except OSError as exc:
            raise BadInputError(f"Cannot write {output}: {exc.strerror or exc}.") from None
    except MoodleSocError as error:
        fail(error)
    typer.echo(f"Wrote the access review report of campaign {campaign.id} to {output}.")
