"""The access inventory in a terminal: every account, its grants and flags; Moodle data inert."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from rich.console import Console

from moodle_soc.inventory.build import build_inventory
from moodle_soc.inventory.roster import parse_roster
from moodle_soc.models.access import AccessInventory
from moodle_soc.policy import Policy
from moodle_soc.reports.access_terminal import render_inventory_terminal
from moodle_soc.site.moodle import MoodleSite
from moodle_soc.synthetic.builder import SiteBuilder

NOW = 1795936000
HOSTILE_NAME = "\x1b[2J\x1b]0;pwned\x07<b>x</b>"


@pytest.fixture
def hostile(builder: SiteBuilder, make_site: Callable[..., MoodleSite]) -> AccessInventory:
    """A site administrator named with a screen clear and a window-title escape sequence, who
    left the company according to a roster that names someone unknown the same way."""
    builder.make_site_admin(builder.user(HOSTILE_NAME, lastaccess=NOW))
    builder.make_site_admin(builder.user("[bold]markup[/]", lastaccess=NOW))
    roster = parse_roster(
        f"username,status,leave_date\n{HOSTILE_NAME},left,2026-01-01\n"
        f"{HOSTILE_NAME}2,left,2026-01-01\n"
    )
    return build_inventory(make_site(builder), Policy(), roster=roster)


def rendered(inventory: AccessInventory, **options: object) -> str:
    out = io.StringIO()
    console = Console(file=out, width=140, **options)  # type: ignore[arg-type]
    render_inventory_terminal(inventory, console)
    return out.getvalue()


def test_every_account_is_listed_with_its_grants_and_flags(hostile: AccessInventory) -> None:
    out = rendered(hostile, no_color=True)

    assert "admin" in out and "siteadmin" in out and "[bold]markup[/]" in out
    assert "Accounts per flag:" in out and "leaver(s) still active" in out


def test_a_hostile_username_renders_inert(hostile: AccessInventory) -> None:
    plain = rendered(hostile, no_color=True)
    coloured = rendered(hostile, force_terminal=True, color_system="truecolor")

    assert "\x1b" not in plain and "\x07" not in plain
    assert "\\x1b[2J\\x1b]0;pwned\\x07<b>x</b>" in plain
    assert "\x07" not in coloured and "\x1b[2J" not in coloured and "\x1b]" not in coloured


def test_grants_read_as_role_and_context_not_keys(
    builder: SiteBuilder, make_site: Callable[..., MoodleSite]
) -> None:
    builder.assign_role(builder.user("support", lastaccess=NOW), "manager")
    out = rendered(build_inventory(make_site(builder), Policy()), no_color=True)

    assert "Manager at System" in out
    assert "role:manager@system" not in out and "loginas@system" not in out
