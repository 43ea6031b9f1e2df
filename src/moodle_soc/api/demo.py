"""``moodle-soc demo``: build the synthetic Acme Academy site in SQLite and scan it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from moodle_soc.site.connect import ConnectionSpec, spec_from_url
from moodle_soc.site.phpconfig import PhpConfig, parse_config_php
from moodle_soc.synthetic.acme import build_acme

if TYPE_CHECKING:
    from rich.console import Console

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


def build_demo_site(path: Path, *, users: int, console: Console) -> DemoSite:
    """Generate the site at ``path`` (replacing an earlier demo file)."""
    started = time.perf_counter()
    with console.status("Building the synthetic Acme Academy site…"):
        builder = build_acme(users=users)
        if path.exists():
            path.unlink()
        builder.sqlite_file(path).dispose()
    console.print(
        f"Built Acme Academy ({users} users) at {path} in {time.perf_counter() - started:.1f} s."
    )
    config_php = parse_config_php(
        _CONFIG_PHP.format(prefix=builder.prefix, wwwroot=builder.wwwroot), "acme/config.php"
    )
    return DemoSite(
        spec=spec_from_url(f"sqlite:///{path}", builder.prefix),
        config_php=config_php,
        now=datetime.fromtimestamp(builder.now, UTC),
    )
