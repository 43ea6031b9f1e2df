"""A quarterly privileged-access review of the real weak site, through the CLI as a SELECT-only
user: start, export XLSX, fill it in, import, close; carry the revocations out as the database
administrator; the follow-ups then verify as done (CLI status and the scan's checks), and the next
campaign tags entries unchanged / changed (role creep) / removed.

The site is this module's own throwaway copy of the weak fixture, because the test changes it.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from .fixtures import (
    PASSWORD_ENV,
    WEAK,
    ReadOnlyUser,
    RestoredSite,
    describe,
    new_tag,
    restore_fixture,
    run_cli,
)

pytestmark = pytest.mark.integration
AS_OF = "2026-11-29T07:17:00Z"
REVOKE = {"support": ("revoke", "role:manager@system"), "admin2": ("revoke", "")}


@pytest.fixture(scope="module")
def weak_copy() -> Iterator[RestoredSite]:
    site = restore_fixture(WEAK, new_tag())
    try:
        yield site
    finally:
        site.drop()


class Review:
    """``moodle-soc review`` as the SELECT-only user, with one evidence store."""

    def __init__(self, site: RestoredSite, user: ReadOnlyUser, workdir: Path) -> None:
        user.grant(site.database)
        self.site, self.user, self.workdir = site, user, workdir
        self.store = workdir / "evidence.sqlite"
        self.config = site.write_config_php(workdir, user.name)

    def __call__(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        env = {PASSWORD_ENV: self.user.password}
        args = (*args, "--store", self.store)
        done = run_cli("review", *args, cwd=self.workdir, env=env)
        assert done.returncode == 0, describe(done)
        return done

    def connect(self, as_of: str | None = None) -> tuple[str | Path, ...]:
        return ("--config", self.config, *(("--as-of", as_of) if as_of else ()))

    def campaigns(self) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = json.loads(self("list", "--format", "json").stdout)
        return rows


def _fill(path: Path) -> None:
    book = openpyxl.load_workbook(path)
    sheet = book["Review"]
    header = [cell.value for cell in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        username = row[header.index("Username")].value
        decision, remove = REVOKE.get(str(username), ("keep", ""))
        row[header.index("Decision")].value = decision
        row[header.index("Remove grants")].value = remove
    book.save(path)


def _scan_reviews(site: RestoredSite, user: ReadOnlyUser, store: Path) -> dict[str, list]:
    """The scan's review checks, now, with the evidence store (as ``scan`` has it)."""
    from moodle_soc.api.scan import scan_site
    from moodle_soc.api.stores import open_evidence_store

    with open_evidence_store(str(store)) as evidence:
        run = scan_site(
            db=site.url(user.name),
            prefix=site.prefix,
            password=user.password,
            checks=["reviews"],
            store=evidence,
        )
    found: dict[str, list] = {}
    for finding in run.findings:
        found.setdefault(finding.check_id, []).append(finding)
    return found


def _carry_out_revocations(site: RestoredSite) -> None:
    """What the administrator does after the review (an admin connection, not the tool)."""
    admin2 = site.scalar("SELECT id FROM {p}user WHERE username = 'admin2'")
    admins = str(site.scalar("SELECT value FROM {p}config WHERE name = 'siteadmins'"))
    kept = ",".join(item for item in admins.split(",") if item != str(admin2))
    p = site.prefix
    site.server.execute(
        f"DELETE FROM {p}role_assignments WHERE contextid = 1"
        f" AND userid = (SELECT id FROM {p}user WHERE username = 'support')"
        f" AND roleid = (SELECT id FROM {p}role WHERE shortname = 'manager')",
        f"UPDATE {p}config SET value = '{kept}' WHERE name = 'siteadmins'",
        database=site.database,
    )


def _grant_teacher1_manager(site: RestoredSite) -> None:
    p = site.prefix
    site.server.execute(
        f"INSERT INTO {p}role_assignments (roleid, contextid, userid, timemodified, modifierid)"
        f" SELECT r.id, 1, u.id, 1795940000, 2 FROM {p}role r, {p}user u"
        " WHERE r.shortname = 'manager' AND u.username = 'teacher1'",
        database=site.database,
    )


def test_quarterly_review_round_trip(weak_copy, pg_readonly, tmp_path):
    review = Review(weak_copy, pg_readonly, tmp_path)
    done = review("start", *review.connect(AS_OF), "--scope", "privileged",
                  "--reviewer", "auditor@acme.test")  # fmt: skip
    assert "Acme Academy (weak)" in done.stdout and "the first campaign" in done.stdout
    (first,) = review.campaigns()
    campaign = str(first["campaign"])
    assert first["new"] == first["entries"] and first["audit_time"].startswith("2026-11-29T07:17")

    sheet = tmp_path / "review.xlsx"
    review("export", campaign, "-o", sheet)
    _fill(sheet)
    review("import", sheet, "--campaign", campaign, "--by", "auditor@acme.test")
    done = review("close", campaign[:8], "--by", "ciso@acme.test")
    assert "2 follow-up(s)" in done.stdout

    late = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    done = review("status", campaign, *review.connect(late))
    assert done.stdout.count("overdue: Account") == 2, done.stdout
    before = _scan_reviews(weak_copy, pg_readonly, review.store)
    assert {f.observed["status"] for f in before["reviews.revocations_carried_out"]} == {"pending"}

    _carry_out_revocations(weak_copy)

    done = review("status", campaign, *review.connect())
    assert "done: Account support (user:103) no longer holds any privileged" in done.stdout
    assert "done: Account admin2 (user:111) no longer holds any privileged" in done.stdout
    after = _scan_reviews(weak_copy, pg_readonly, review.store)
    carried = after["reviews.revocations_carried_out"]
    assert {(f.resource, f.status.value, f.observed["status"]) for f in carried} == {
        ("user:103", "pass", "done"), ("user:111", "pass", "done")
    }  # fmt: skip
    (current,) = after["reviews.privileged_review_current"]
    assert current.status.value == "pass" and campaign in current.reason
    report = tmp_path / "review.html"
    review("report", campaign, "-o", report)
    assert report.read_text(encoding="utf-8").count("<td>done</td>") == 2

    _grant_teacher1_manager(weak_copy)
    done = review("start", *review.connect("2026-11-29T09:00:00Z"), "--scope", "privileged",
                  "--reviewer", "auditor@acme.test")  # fmt: skip
    second = review.campaigns()[-1]
    entries = int(first["entries"])  # type: ignore[call-overload]
    assert (second["new"], second["changed"], second["role_creep"], second["removed"]) == (
        0, 1, 1, 2
    )  # fmt: skip
    assert second["unchanged"] == entries - 3 and second["entries"] == entries - 2
    assert f"compared with campaign {campaign}" in done.stdout and "2 removed." in done.stdout
    _assert_second_campaign_tags(review.store, str(second["campaign"]))


def _assert_second_campaign_tags(store_path: Path, campaign_id: str) -> None:
    from moodle_soc.evidence.store.store import open_store
    from moodle_soc.reviews.campaigns import get_campaign

    store = open_store(str(store_path), create=True)
    try:
        campaign = get_campaign(store, campaign_id)
    finally:
        store.close()
    changed = [t for t in campaign.start.tags if t.tag == "changed"]
    assert [campaign.entry(t.key).username for t in changed] == ["teacher1"]  # type: ignore[union-attr]
    assert "role:manager@system" in changed[0].grants_added
    assert sorted(e.username for e in campaign.start.removed) == ["admin2", "support"]
