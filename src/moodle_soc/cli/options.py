"""Command-line options shared by every command that reads a live Moodle site.

One declaration each, so ``scan``, ``access inventory``, ``review start``/``status`` and
``evidence populations`` accept the same connection options with the same help text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="Database URL: postgresql://user@host/db, mysql://… or mariadb://… "
        "(sqlite:///file for the synthetic site only). The password comes from the URL, "
        "MOODLE_SOC_DB_PASSWORD or --ask-password.",
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="FILE",
        help="The site's config.php, parsed statically (never executed) for the connection, "
        "wwwroot and settings that override the database.",
    ),
]
PrefixOption = Annotated[
    str | None,
    typer.Option(
        "--prefix", metavar="PREFIX", help="Table prefix (default mdl_, or config.php's)."
    ),
]
AskPasswordOption = Annotated[
    bool, typer.Option("--ask-password", help="Prompt for the database password.")
]
WwwrootOption = Annotated[
    str | None,
    typer.Option(
        "--wwwroot", metavar="URL", help="The site's wwwroot when config.php is not given."
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="TIME",
        help="Audit time (ISO 8601, e.g. 2026-11-29T12:00:00Z); default now.",
    ),
]
SettingsOption = Annotated[
    Path | None,
    typer.Option(
        "--settings", metavar="FILE", help="Policy file (default ./moodle-soc.yaml when present)."
    ),
]
StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        metavar="STORE",
        help="Evidence store: a SQLite path or postgresql:// URL (default $MOODLE_SOC_STORE,"
        " moodle-soc.yaml's store:, or evidence.sqlite in the user data directory).",
    ),
]
SignKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--sign-key", metavar="FILE", help="Ed25519 private key (PEM) to sign new records with."
    ),
]
PeriodOption = Annotated[
    str | None,
    typer.Option(
        "--period",
        metavar="FROM..TO",
        help="FROM..TO in UTC days, inclusive: 2026-11-01..2026-11-30.",
    ),
]
# The older spelling, still accepted but no longer shown: one way to give a period everywhere.
FromDayOption = Annotated[str | None, typer.Option("--from", hidden=True)]
ToDayOption = Annotated[str | None, typer.Option("--to", hidden=True)]
# One way to name a site in the evidence store, on every command that reads a store holding
# several sites (see README, "Sites in the evidence store").
SiteOption = Annotated[
    str | None,
    typer.Option(
        "--site",
        metavar="SITE",
        help="The site in the evidence store: its key, name or wwwroot (default: the store's"
        " only site).",
    ),
]
# The same rule on commands that list or verify every site unless told one.
SiteFilterOption = Annotated[
    str | None,
    typer.Option(
        "--site",
        metavar="SITE",
        help="Only this site of the evidence store: its key, name or wwwroot (default: every"
        " site).",
    ),
]
