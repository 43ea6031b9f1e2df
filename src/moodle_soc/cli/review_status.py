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

from moodle_soc.cli.common import fail, open_store, write_text
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
from moodle_soc.errors import MoodleSocError
from moodle_soc.safety import terminal_safe

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


def _echo(text: str) -> None:
    typer.echo(terminal_safe(text))  # campaign text carries Moodle and reviewer values


def _print_status(campaign: Campaign, statuses: list[FollowUpStatus] | None) -> None:
    start, c = campaign.start, campaign.counts()
    _echo(
        f"Campaign {campaign.id}: {start.site_name}, {start.scope} accounts at"
        f" {start.audit_time:%Y-%m-%d %H:%M} UTC, reviewer {start.reviewer}, {campaign.state}."
    )
    _echo(
        f"  {c['entries']} entries: {c['keep']} keep, {c['revoke']} revoke, {c['modify']} modify,"
        f" {c['escalate']} escalate, {c['undecided']} undecided; {len(campaign.imports)} import(s)."
    )
    close = campaign.close
    if close is None:
        return
    _echo(f"  Signed off by {close.closed_by} on {close.closed_at:%Y-%m-%d %H:%M} UTC.")
    known = {s.key: s for s in statuses or []}
    for follow_up in close.follow_ups:
        status = known.get(follow_up.key)
        shown = f"{status.status}: {status.reason}" if status else "not verified yet."
        _echo(f"  follow-up {follow_up.key} (due {follow_up.due}) {shown}")


def _campaign_statuses(
    evidence: EvidenceStore, campaign_id: str, options: SiteOptions, settings: Path | None
) -> tuple[Campaign, list[FollowUpStatus] | None]:
    """The campaign and its follow-up statuses: verified on the site now when one is given,
    else the latest stored check (None when none was recorded)."""
    from moodle_soc.api.reviews import (
        get_review,
        latest_follow_up_statuses,
        verify_review_follow_ups,
    )
    from moodle_soc.settings_file import find_settings_file

    campaign = get_review(evidence, campaign_id)
    if not options.given:
        return campaign, latest_follow_up_statuses(campaign)
    policy = find_settings_file(settings).policy
    with options.open() as site:
        statuses = verify_review_follow_ups(
            evidence, campaign, site, checked_by=getpass.getuser(), policy=policy
        )
    return campaign, statuses


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
        options = SiteOptions(db, config, prefix, ask_password, wwwroot, as_of)
        with open_store(store, sign_key) as evidence:
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
    from moodle_soc.api.reviews import review_report_html

    try:
        options = SiteOptions(db, config, prefix, ask_password, wwwroot, as_of)
        with open_store(store, sign_key) as evidence:
            campaign, statuses = _campaign_statuses(evidence, campaign_id, options, settings)
        write_text(output, review_report_html(campaign, statuses))
    except MoodleSocError as error:
        fail(error)
    typer.echo(f"Wrote the access review report of campaign {campaign.id} to {output}.")
