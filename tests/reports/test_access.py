"""The access-review HTML report and CSV: complete, self-contained, and safe with hostile data."""

from __future__ import annotations

import csv
import io

import pytest

from moodle_soc.inventory.build import build_inventory
from moodle_soc.inventory.roster import parse_roster
from moodle_soc.models.access import AccessInventory
from moodle_soc.policy import Policy
from moodle_soc.reports.access import CSV_COLUMNS, render_access_review, render_csv
from moodle_soc.synthetic.builder import SiteBuilder

NOW = 1795936000
SCRIPT = "<script>alert(1)</script>"
HYPERLINK = '=HYPERLINK("https://evil.test","x")'


@pytest.fixture
def hostile(builder: SiteBuilder, make_site) -> AccessInventory:
    """A site administrator named like a script, another like a spreadsheet formula."""
    builder.make_site_admin(builder.user(SCRIPT, lastaccess=NOW, firstname="<b>Eve</b>"))
    builder.make_site_admin(builder.user("=cmd|' /C calc'!A0", lastaccess=NOW, firstname=HYPERLINK))
    roster = parse_roster(
        f"username,status,leave_date,manager\n{SCRIPT},left,2026-01-01,<i>x</i>\n"
    )
    return build_inventory(make_site(builder), Policy(), roster=roster)


def test_html_escapes_every_moodle_value(hostile):
    html = render_access_review(hostile)

    assert SCRIPT not in html and "<b>Eve</b>" not in html and "<i>x</i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()


def test_html_is_self_contained_and_complete(hostile):
    html = render_access_review(hostile)

    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "http://" not in html.replace(hostile.wwwroot or "", "")
    for section in ('id="summary"', 'id="inventory"', 'id="roster"', "terminated", "generic_name"):
        assert section in html
    assert 'id="decisions"' not in html and 'id="follow-ups"' not in html


def test_html_renders_campaign_decisions_and_follow_ups_when_given(hostile):
    decisions = [{"key": "user:2", "grant": "siteadmin", "decision": "keep", "reviewer": SCRIPT}]
    follow_ups = [{"action": "revoke token:1", "owner": "it", "due": "2026-12-15"}]

    html = render_access_review(hostile, decisions=decisions, follow_ups=follow_ups)

    assert 'id="decisions"' in html and 'id="follow-ups"' in html
    assert "revoke token:1" in html and SCRIPT not in html
    header = html[html.index('id="decisions"') :]
    assert header.index(">key<") < header.index(">grant<") < header.index(">decision<")
    empty = render_access_review(hostile, decisions=[], follow_ups=[])
    assert "No decision has been recorded yet." in empty and "No follow-up is open." in empty


def test_csv_has_the_documented_columns_and_neutralises_formulas(hostile):
    rows = list(csv.reader(io.StringIO(render_csv(hostile))))

    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(hostile.entries) + 1
    by_name = {row[2]: dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]}
    assert by_name["'=cmd|' /C calc'!A0"]["fullname"] == f"'{HYPERLINK} User"
    scripted = by_name[SCRIPT]
    assert scripted["grants"] == "siteadmin" and scripted["roster_status"] == "left"
    assert "terminated" in scripted["flags"].split(";")
    assert scripted["roster_manager"] == "<i>x</i>" and scripted["siteadmin"] == "1"


def test_flag_codes_added_by_a_campaign_are_counted_too(hostile):
    campaign = hostile.model_copy(update={"flag_counts": {**hostile.flag_counts, "role_creep": 2}})
    html = render_access_review(campaign)
    assert "<code>role_creep</code></td><td>Grants added since the previous review" in html


def test_unknown_flag_codes_still_show(hostile):
    campaign = hostile.model_copy(update={"flag_counts": {**hostile.flag_counts, "new_rule": 1}})
    html = render_access_review(campaign)
    assert "<code>new_rule</code></td><td>Raised by the review campaign.</td>" in html


def test_html_names_grants_by_role_and_context_and_csv_keeps_the_keys(builder, make_site):
    builder.assign_role(builder.user("support", lastaccess=NOW), "manager")
    inventory = build_inventory(make_site(builder), Policy())

    html = render_access_review(inventory)
    rows = {row["username"]: row for row in csv.DictReader(io.StringIO(render_csv(inventory)))}

    assert '<li title="role:manager@system">Manager at System' in html
    assert "<code>role:manager@system</code>" not in html
    assert rows["support"]["grants"] == "role:manager@system;loginas@system"
