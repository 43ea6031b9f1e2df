"""The HTML report: one self-contained file, every Moodle value escaped, every finding shown."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moodle_soc.models.run import AuditRun, Finding
from moodle_soc.reports import render_html
from moodle_soc.results import Status

SCRIPT_USERNAME = "<script>alert(1)</script>"
IMG_REASON_PART = "<img src=x onerror=alert(1)>"
RunFactory = Callable[..., AuditRun]
FindingFactory = Callable[..., Finding]

# Markup fragments mixed with arbitrary characters: what a hostile Moodle user could store.
HOSTILE_TEXT = st.lists(
    st.sampled_from(["<", ">", "&", '"', "'", "/", "=", "b", "script", "img", " ", "<!--", "&amp;"])
    | st.characters(),
    min_size=1,
    max_size=30,
).map("".join)
VOID = {"meta", "br", "wbr", "input", "col", "img", "hr", "link", "area", "base", "source"}


class Document(HTMLParser):
    """Records tags, attributes, text and script bodies; fails on any unbalanced tag."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-3:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "script":
            self.scripts.append(data)
        else:
            self.text.append(data)

    def attribute_values(self, name: str) -> list[str]:
        return [attrs[name] or "" for _, attrs in self.tags if name in attrs]


def test_is_well_formed(audit_run: AuditRun) -> None:
    document = Document(render_html(audit_run))

    assert document.stack == []
    names = [tag for tag, _ in document.tags]
    for tag in ("html", "head", "body", "main", "nav", "footer"):
        assert names.count(tag) == 1, tag


def test_is_self_contained(audit_run: AuditRun) -> None:
    html = render_html(audit_run)
    document = Document(html)

    assert "<link" not in html
    assert not any(tag in {"link", "img", "iframe", "object", "embed"} for tag, _ in document.tags)
    assert [attrs for tag, attrs in document.tags if tag == "script"] == [{}]
    for name in ("src", "href", "action", "srcset", "poster"):
        for value in document.attribute_values(name):
            assert value.startswith("#"), f"{name}={value!r}"
    style = "".join(document.text)
    assert "@import" not in style and "url(" not in style


def test_csp_allows_only_the_inline_script(audit_run: AuditRun) -> None:
    document = Document(render_html(audit_run))
    csp = next(
        attrs["content"] or ""
        for tag, attrs in document.tags
        if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy"
    )
    digest = base64.b64encode(hashlib.sha256(document.scripts[0].encode()).digest()).decode()

    assert "default-src 'none'" in csp
    assert f"script-src 'sha256-{digest}'" in csp


def test_moodle_data_is_escaped(audit_run: AuditRun) -> None:
    html = render_html(audit_run)

    assert SCRIPT_USERNAME not in html
    assert IMG_REASON_PART not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert html.count("<script") == 1
    assert not any(name.startswith("on") for _, attrs in Document(html).tags for name in attrs)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=HOSTILE_TEXT)
def test_any_text_from_moodle_renders_as_that_text(
    make_run: RunFactory, make_finding: FindingFactory, text: str
) -> None:
    reason = f"User {text} is odd."
    run = make_run(
        [make_finding("access.odd_user_reviewed", Status.FAIL, reason=reason, observed={"u": text})]
    )
    document = Document(render_html(run))

    assert reason in "".join(document.text)
    assert len(document.scripts) == 1
    assert not any(name.startswith("on") for _, attrs in document.tags for name in attrs)


def test_every_finding_and_check_appears(audit_run: AuditRun) -> None:
    html = render_html(audit_run)

    for item in audit_run.findings:
        assert item.check_id in html
    for check in audit_run.checks:
        assert check.rationale in html


def test_cover_names_site_version_time_and_versions(audit_run: AuditRun) -> None:
    text = " ".join(Document(render_html(audit_run)).text)

    for expected in (
        "Acme Academy",
        "https://moodle.example.edu",
        "4.5 LTS",
        "4.3+",
        "29 November 2026, 10:30:00 UTC",
        "moodle-soc 0.1.0",
        "2017 TSC, 2022 points of focus",
    ):
        assert expected in text


def test_fix_first_lists_failures_by_severity_with_commands(audit_run: AuditRun) -> None:
    html = render_html(audit_run)
    fix_first = html[html.index('id="fix-first"') : html.index('id="controls"')]
    order = [
        "security.debug_display_disabled",
        "access.site_admins_active",
        "authentication.lockout_enabled",
        "access.guest_login_disabled",
    ]

    assert [fix_first.index(f'<code class="id">{cid}</code>') for cid in order] == sorted(
        fix_first.index(f'<code class="id">{cid}</code>') for cid in order
    )
    assert "php admin/cli/cfg.php --name=debugdisplay --set=0" in fix_first
    assert "authentication.password_min_length" not in fix_first


def test_statuses_and_severities_are_shown_as_words(audit_run: AuditRun) -> None:
    text = Document(render_html(audit_run)).text

    for word in ("Fail", "Pass", "Manual", "Error", "N/A", "Critical", "High", "Medium", "Low"):
        assert word in text


def test_has_every_part_and_a_print_stylesheet(audit_run: AuditRun) -> None:
    html = render_html(audit_run)

    for anchor in ("summary", "fix-first", "controls", "findings", "exceptions", "provenance"):
        assert f'id="{anchor}"' in html
    assert "@media print" in html
    for query in audit_run.queries:
        assert query["sha256"] in html
        assert query["purpose"] in html
    assert "completeness and accuracy" in html


def test_observed_values_are_a_key_value_table_with_json_for_nested(audit_run: AuditRun) -> None:
    html = render_html(audit_run)

    assert re.search(r"<th scope=\"row\">roles</th><td class=\"v-json\">\[&#34;manager&#34;", html)
    assert '<th scope="row">days_inactive</th><td class="v-json">400</td>' in html


def test_renders_a_run_without_failures(
    make_run: RunFactory, sample_findings: tuple[Finding, ...]
) -> None:
    passes = [f for f in sample_findings if f.status is Status.PASS]
    run = make_run(passes, readiness=())

    html = render_html(run)

    assert "No failed findings." in html
    assert Document(html).stack == []


def test_fix_first_groups_a_checks_failures_and_points_to_the_rest(
    make_run: RunFactory, make_finding: FindingFactory
) -> None:
    failures = [
        make_finding("accounts.dormant_disabled", Status.FAIL, resource=f"user:{n}")
        for n in range(1, 13)
    ]
    html = render_html(make_run(failures))
    fix_first = html[html.index('id="fix-first"') : html.index('id="controls"')]
    findings = html[html.index('id="findings"') : html.index('id="exceptions"')]

    assert fix_first.count("<article") == 1
    assert "12 failed" in fix_first
    assert "user:<wbr>10" in fix_first and "user:<wbr>11" not in fix_first
    assert "and 2 more failed findings" in fix_first
    assert 'href="#check-accounts.dormant_disabled"' in fix_first
    assert 'id="check-accounts.dormant_disabled"' in findings
    assert findings.count('<tr data-status="fail">') == 12


def test_the_headline_counts_failing_checks_and_shows_the_scoring_formula(
    audit_run: AuditRun,
) -> None:
    from moodle_soc.checks.scoring import FORMULA

    html = render_html(audit_run)
    failed = [f for f in audit_run.findings if f.status is Status.FAIL]
    checks = {f.check_id for f in failed}
    assert re.search(
        rf'Failed checks</div>\s*<div class="value">{len(checks)}</div>\s*<div class="note">'
        rf"{len(failed)} failed findings:",
        html,
    )
    assert FORMULA in html


def test_a_huge_population_renders_twenty_rows_and_the_count_while_json_keeps_all(
    make_run: RunFactory, make_finding: FindingFactory
) -> None:
    import json

    from moodle_soc.reports import render_json

    failures = [
        make_finding("accounts.dormant_disabled", Status.FAIL, resource=f"user:{n}")
        for n in range(1, 46)
    ]
    run = make_run(failures)
    html = render_html(run)
    findings = html[html.index('id="findings"') : html.index('id="exceptions"')]

    assert findings.count('<tr data-status="fail">') == 20
    assert "user:<wbr>20<" in findings and "user:<wbr>21<" not in findings
    assert (
        "and 25 more findings of this check (45 in all): the full population"
        " (<code>--format csv</code> or <code>xlsx</code>) lists every one." in findings
    )
    assert Document(html).stack == []
    document = json.loads(render_json(run))
    assert (
        len([f for f in document["findings"] if f["check_id"] == "accounts.dormant_disabled"]) == 45
    )


def test_section_five_lists_twenty_per_check_and_counts_the_rest(
    make_run: RunFactory, make_finding: FindingFactory
) -> None:
    errors = [
        make_finding("logging.log_kept", Status.ERROR, resource=f"table:{n}") for n in range(25)
    ]
    html = render_html(make_run(errors))
    section = html[html.index('id="exceptions"') : html.index('id="provenance"')]

    assert "Could not run (25)" in section
    assert section.count("table:<wbr>") == 20
    assert (
        "and 5 more (at most 20 listed per check): the full population (<code>--format csv</code>"
        " or <code>xlsx</code>) lists every one." in section
    )


def test_an_incomplete_scan_shows_a_banner_with_the_grants(audit_run: AuditRun) -> None:
    from moodle_soc.models.run import Incomplete

    incomplete = Incomplete(
        unreadable_tables=("mdl_user",), grants=("GRANT SELECT ON mdl_user TO ro;",)
    )
    html = render_html(audit_run.model_copy(update={"incomplete": incomplete}))

    assert (
        '<section class="incomplete" role="alert">\n  <p><strong>This scan is incomplete: 1 table'
        " could not be read (mdl_user), so the checks that need them are errors. Grant read"
        " access and scan again:</strong></p>\n  <pre>GRANT SELECT ON mdl_user TO ro;\n</pre>"
    ) in html
    assert 'class="incomplete"' not in render_html(audit_run)
