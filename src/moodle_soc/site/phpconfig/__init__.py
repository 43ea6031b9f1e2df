"""Read Moodle's config.php without running PHP.

config.php settings override the database (moodle-facts §6.3), so the audit needs them, but
executing an arbitrary PHP file would break the tool's read-only promise. The file is lexed
(``lexer``) and only literal ``$CFG->name = ...;`` assignments are evaluated (``expressions``,
``statements``); anything computed at runtime becomes ``Unknown`` and any other statement is
recorded, never evaluated. ``files`` reads a config.php from disk (regular files of a bounded
size only) and follows Moodle 5.1's ``public/config.php`` loader.

The parser is imported when a config.php is first read: compiling the lexer's patterns costs
tens of milliseconds that a scan given ``--db`` (which needs only the value types) never pays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moodle_soc.site.phpconfig.values import (
    DynamicStatement,
    PhpConfig,
    Unknown,
    redacted,
    redacted_values,
)

if TYPE_CHECKING:
    from moodle_soc.site.phpconfig.files import load_config_php
    from moodle_soc.site.phpconfig.statements import parse_config_php

__all__ = [
    "DynamicStatement",
    "PhpConfig",
    "Unknown",
    "load_config_php",
    "parse_config_php",
    "redacted",
    "redacted_values",
]


def __getattr__(name: str) -> Any:
    if name == "load_config_php":
        from moodle_soc.site.phpconfig.files import load_config_php

        return load_config_php
    if name == "parse_config_php":
        from moodle_soc.site.phpconfig.statements import parse_config_php

        return parse_config_php
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
