"""``moodle-soc review`` as a subprocess on a synthetic SQLite site: a whole quarterly review,
and the refusals (bad file, closed campaign, unknown campaign) with their exit codes."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from moodle_soc.errors import ExitCode
from moodle_soc.reviews.files import COLUMNS
from moodle_soc.synthetic.builder import SiteBuilder

NOW = 1795936000
AS_OF = "2026-11-29T07:17:00Z"
DECISION, REMOVE = COLUMNS.index("Decision"), COLUMNS.index("Remove grants")


def _command() -> list[str]:
    """``moodle-soc review``."""
    return [str(Path(sys.executable).with_name("moodle-soc")), "review"]


class Review:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.store = workdir / "evidence.sqlite"

    def __call__(self, *args: str | Path, code: int = 0) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "MOODLE_SOC_STORE": str(self.store), "NO_COLOR": "1"}
        done = subprocess.run([*_command(), *map(str, args)], cwd=self.workdir, env=env,
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
        assert done.returncode == code, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    def campaigns(self) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = json.loads(self("list", "--format", "json").stdout)
        return rows

    def records(self, kind: str) -> int:
        from moodle_soc.evidence.store.store import open_store

        store = open_store(str(self.store), create=True)
        try:
            return len(store.records(kind=kind))
        finally:
            store.close()


def _site(builder: SiteBuilder, path: Path, *, revoked: bool = False) -> str:
    support = builder.user("support", lastaccess=NOW - 86400)
    admin2 = builder.user("admin2", lastaccess=NOW - 86400)
    if not revoked:
        builder.assign_role(support, "manager")
        builder.make_site_admin(admin2)
    builder.sqlite_file(path).dispose()
    return f"sqlite:///{path}"


@pytest.fixture
def review(tmp_path) -> Review:
    return Review(tmp_path)


@pytest.fixture
def started(review, builder, tmp_path) -> tuple[Review, str, str]:
    url = _site(builder, tmp_path / "site.sqlite")
    done = review("start", "--db", url, "--as-of", AS_OF, "--reviewer", "rev@acme.test")
    assert "3 entries (3 new, 0 unchanged, 0 changed, 0 with role creep)" in done.stdout
    (campaign,) = review.campaigns()
    return review, str(campaign["campaign"]), url


def _filled(review: Review, campaign: str, decisions: dict[str, tuple[str, str]]) -> Path:
    path = review.workdir / "review.csv"
    review("export", campaign[:6], "-o", path)
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines(keepends=True)))
    for row in rows[1:]:
        row[DECISION], row[REMOVE] = decisions.get(row[2], ("keep", ""))
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


REVOKE = {"support": ("revoke", "role:manager@system"), "admin2": ("revoke", "")}


def test_a_quarterly_review_end_to_end(started, builder, tmp_path):
    review, campaign, _url = started
    done = review("import", _filled(review, campaign, REVOKE), "--campaign", campaign,
                  "--by", "rev@acme.test")  # fmt: skip
    assert "1 keep, 2 revoke, 0 modify, 0 escalate, 0 undecided" in done.stdout
    report = tmp_path / "review.html"
    review("report", campaign, "-o", report)
    html = report.read_text(encoding="utf-8")
    assert f"<code>{campaign}</code> (open)" in html and "<strong>Not signed off</strong>" in html
    done = review("close", campaign, "--by", "ciso@acme.test", "--follow-up-days", "14")
    assert "2 follow-up(s)" in done.stdout and "Remove siteadmin from admin2" in done.stdout

    fixed = _site(SiteBuilder(), tmp_path / "fixed.sqlite", revoked=True)
    done = review("status", campaign, "--db", fixed)
    assert done.stdout.count("done: Account") == 2, done.stdout
    review("report", campaign, "-o", report)
    html = report.read_text(encoding="utf-8")
    assert "Review decisions" in html and "support (user:3) no longer holds any privileged" in html
    (row,) = review.campaigns()
    block = html[html.index('id="sign-off"') : html.index('id="summary"')]
    assert f"<code>{campaign}</code> (closed)" in block
    assert "<td>privileged accounts of " in block and "<td>rev@acme.test</td>" in block
    assert re.search(r"<strong>\d{4}-\d\d-\d\d \d\d:\d\d UTC by ciso@acme.test</strong>", block)
    assert "2 follow-up(s), due within 14 days of the sign-off" in block
    assert "review.csv (csv, SHA-256 <code>" in block and "by rev@acme.test" in block
    assert (row["state"], row["closed_by"], row["follow_ups"]) == ("closed", "ciso@acme.test", 2)
    assert review.records("review_followup_check") == 1


def test_a_bad_file_is_refused_row_by_row_and_records_nothing(started):
    review, campaign, _url = started
    path = _filled(review, campaign, {"support": ("delete", ""), "admin2": ("", "")})

    done = review("import", path, "--campaign", campaign, "--by", "rev@acme.test",
                  code=ExitCode.BAD_INPUT)  # fmt: skip

    assert "2 problem(s), nothing was recorded" in done.stderr
    assert "row 3 (user:3): Decision 'delete' is not one of" in done.stderr
    assert "row 4 (user:4): Decision is empty" in done.stderr
    assert review.records("review_decisions") == 0


def test_a_closed_campaign_refuses_imports_and_a_second_close(started):
    review, campaign, _url = started
    path = _filled(review, campaign, {})
    review("import", path, "--campaign", campaign, "--by", "rev@acme.test")
    review("close", campaign, "--by", "ciso@acme.test")

    done = review("import", path, "--campaign", campaign, "--by", "rev@acme.test", code=7)
    assert "importing decisions is refused after sign-off" in done.stderr
    done = review("close", campaign, "--by", "ciso@acme.test", code=7)
    assert "closing it again is refused after sign-off" in done.stderr
    assert review.records("review_decisions") == 1


def test_close_with_undecided_entries_and_unknown_campaigns_fail_clearly(started):
    review, campaign, _url = started
    done = review("close", campaign, "--by", "ciso@acme.test", code=ExitCode.BAD_INPUT)
    assert "3 entries have no decision" in done.stderr
    done = review("export", "ffffffff", "-o", "x.csv", code=ExitCode.BAD_INPUT)
    assert "'ffffffff' matches no campaign" in done.stderr


def test_status_refuses_another_sites_database(started, tmp_path):
    review, campaign, _url = started
    other = _site(SiteBuilder(site_name="Other", seed=7), tmp_path / "other.sqlite")
    done = review("status", campaign, "--db", other, code=ExitCode.BAD_INPUT)
    assert "not campaign" in done.stderr and "Other" in done.stderr
