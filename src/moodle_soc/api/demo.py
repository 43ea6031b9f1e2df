"""The demo: build the synthetic Acme Academy site in SQLite and scan it like a real one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from moodle_soc.errors import BadInputError
from moodle_soc.site.connect import ConnectionSpec, open_site, spec_from_url
from moodle_soc.site.phpconfig import PhpConfig, parse_config_php
from moodle_soc.synthetic.acme import build_acme

if TYPE_CHECKING:
    from moodle_soc.api.scan import ScanProgress
    from moodle_soc.models.run import AuditRun

# What the demo site's config.php would say; only literals, as in a real install.
_CONFIG_PHP = """<?php
unset($CFG);
global $CFG;
$CFG = new stdClass();
$CFG->dbtype    = 'pgsql';
$CFG->dbhost    = 'localhost';
$CFG->dbname    = 'acme';
$CFG->dbuser    = 'moodle';
$CFG->dbpass    = 'demo-only-not-a-secret';
$CFG->prefix    = '{prefix}';
$CFG->wwwroot   = '{wwwroot}';
$CFG->dataroot  = '/var/moodledata';
$CFG->admin     = 'admin';
$CFG->directorypermissions = 02777;
require_once(__DIR__ . '/lib/setup.php');
"""


@dataclass(frozen=True)
class DemoSite:
    spec: ConnectionSpec
    config_php: PhpConfig
    now: datetime


def build_demo_site(path: Path, *, users: int) -> DemoSite:
    """Generate the site at ``path`` (replacing an earlier demo file)."""
    if not path.parent.is_dir():  # else SQLite's bare "unable to open database file"
        raise BadInputError(f"Cannot write the demo site to {path}: no directory {path.parent}.")
    builder = build_acme(users=users)
    if path.exists():
        path.unlink()
    builder.sqlite_file(path).dispose()
    config_php = parse_config_php(
        _CONFIG_PHP.format(prefix=builder.prefix, wwwroot=builder.wwwroot), "acme/config.php"
    )
    return DemoSite(
        spec=spec_from_url(f"sqlite:///{path}", builder.prefix),
        config_php=config_php,
        now=datetime.fromtimestamp(builder.now, UTC),
    )


def scan_demo_site(
    demo: DemoSite, *, as_of: datetime | None = None, progress: ScanProgress | None = None
) -> AuditRun:
    """Scan the demo site (at its own "now" unless ``as_of`` is given) with the default policy;
    nothing is stored."""
    from moodle_soc.api.scan import judge_site

    with open_site(demo.spec, config_php=demo.config_php, audit_time=as_of or demo.now) as site:
        return judge_site(site, progress=progress)
